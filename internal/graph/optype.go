package graph

// OpType is an ONNX operator name, the op_type of a NodeProto. Builders
// pass the constants below; an op fmam has no shape rule for is still an
// OpType (an imported model may name anything), and AddNode rejects it with
// ErrUnsupported. Import converts the proto's string in one place
// (nodeFromProto) and Model writes it back unchanged.
type OpType string

func (o OpType) String() string { return string(o) }

// The ai.onnx operators fmam infers shapes for (infer.go), each named
// after its ONNX op type with an Op prefix. Which of them have gradient
// rules is autodiff's business (autodiff.Supported).
const (
	// Elementwise arithmetic with numpy broadcasting.
	OpAdd  OpType = "Add"
	OpSub  OpType = "Sub"
	OpMul  OpType = "Mul"
	OpDiv  OpType = "Div"
	OpPow  OpType = "Pow"
	OpMod  OpType = "Mod"
	OpMax  OpType = "Max"
	OpMin  OpType = "Min"
	OpSum  OpType = "Sum"
	OpMean OpType = "Mean"

	// Elementwise unary math.
	OpNeg        OpType = "Neg"
	OpAbs        OpType = "Abs"
	OpSign       OpType = "Sign"
	OpSqrt       OpType = "Sqrt"
	OpReciprocal OpType = "Reciprocal"
	OpExp        OpType = "Exp"
	OpLog        OpType = "Log"
	OpErf        OpType = "Erf"
	OpFloor      OpType = "Floor"
	OpCeil       OpType = "Ceil"
	OpRound      OpType = "Round"
	OpClip       OpType = "Clip"
	OpIdentity   OpType = "Identity"
	OpCast       OpType = "Cast"

	// Activations.
	OpRelu        OpType = "Relu"
	OpLeakyRelu   OpType = "LeakyRelu"
	OpElu         OpType = "Elu"
	OpSigmoid     OpType = "Sigmoid"
	OpHardSigmoid OpType = "HardSigmoid"
	OpTanh        OpType = "Tanh"
	OpSoftplus    OpType = "Softplus"
	OpSoftmax     OpType = "Softmax"
	OpLogSoftmax  OpType = "LogSoftmax"
	OpDropout     OpType = "Dropout"

	// Comparison and logic; the outputs are boolean. Where selects by a
	// boolean condition.
	OpEqual          OpType = "Equal"
	OpGreater        OpType = "Greater"
	OpGreaterOrEqual OpType = "GreaterOrEqual"
	OpLess           OpType = "Less"
	OpLessOrEqual    OpType = "LessOrEqual"
	OpAnd            OpType = "And"
	OpOr             OpType = "Or"
	OpNot            OpType = "Not"
	OpIsNaN          OpType = "IsNaN"
	OpIsInf          OpType = "IsInf"
	OpWhere          OpType = "Where"

	// Reductions over axes, and the index of the extreme value.
	OpReduceSum       OpType = "ReduceSum"
	OpReduceMean      OpType = "ReduceMean"
	OpReduceMax       OpType = "ReduceMax"
	OpReduceMin       OpType = "ReduceMin"
	OpReduceProd      OpType = "ReduceProd"
	OpReduceSumSquare OpType = "ReduceSumSquare"
	OpReduceL2        OpType = "ReduceL2"
	OpReduceLogSumExp OpType = "ReduceLogSumExp"
	OpArgMax          OpType = "ArgMax"
	OpArgMin          OpType = "ArgMin"

	// Matrix products.
	OpMatMul OpType = "MatMul"
	OpGemm   OpType = "Gemm"

	// Convolution and pooling.
	OpConv              OpType = "Conv"
	OpConvTranspose     OpType = "ConvTranspose"
	OpMaxPool           OpType = "MaxPool"
	OpAveragePool       OpType = "AveragePool"
	OpGlobalAveragePool OpType = "GlobalAveragePool"
	OpGlobalMaxPool     OpType = "GlobalMaxPool"

	// Normalisation.
	OpBatchNormalization    OpType = "BatchNormalization"
	OpInstanceNormalization OpType = "InstanceNormalization"
	OpLayerNormalization    OpType = "LayerNormalization"

	// Shape and layout.
	OpReshape      OpType = "Reshape"
	OpFlatten      OpType = "Flatten"
	OpSqueeze      OpType = "Squeeze"
	OpUnsqueeze    OpType = "Unsqueeze"
	OpTranspose    OpType = "Transpose"
	OpExpand       OpType = "Expand"
	OpTile         OpType = "Tile"
	OpPad          OpType = "Pad"
	OpResize       OpType = "Resize"
	OpDepthToSpace OpType = "DepthToSpace"
	OpSpaceToDepth OpType = "SpaceToDepth"

	// Joining, splitting and indexing.
	OpConcat          OpType = "Concat"
	OpSplit           OpType = "Split"
	OpSlice           OpType = "Slice"
	OpGather          OpType = "Gather"
	OpGatherElements  OpType = "GatherElements"
	OpScatterElements OpType = "ScatterElements"
	OpScatterND       OpType = "ScatterND"

	// Constants and shapes as tensors (folded away when an imported model
	// computes them from constants).
	OpConstant        OpType = "Constant"
	OpConstantOfShape OpType = "ConstantOfShape"
	OpShape           OpType = "Shape"
	OpRange           OpType = "Range"
)
