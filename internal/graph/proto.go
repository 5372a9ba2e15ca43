package graph

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/onnxpb"
)

// MaxModelBytes bounds the size of a model file fmam reads: protobuf caps
// messages at 2 GiB and fmam keeps all weights inline.
const MaxModelBytes = 2<<30 - 1

// IRVersion is the ONNX IR version of written models (IR 8 goes with
// opset 17 and is what Debian's onnx.proto describes).
const IRVersion = 8

// ReadModel reads and decodes an ONNX file with a clear error for files
// that are missing, too large, truncated or not ONNX.
func ReadModel(path string) (*onnxpb.ModelProto, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	if st.Size() > MaxModelBytes {
		return nil, fmt.Errorf("read model %s: %d bytes is over the 2 GiB protobuf limit; fmam does not read external-data models", path, st.Size())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read model %s: %w", path, err)
	}
	return DecodeModel(b, path)
}

// DecodeModel decodes ONNX bytes; name is used in errors.
func DecodeModel(b []byte, name string) (*onnxpb.ModelProto, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("read model %s: not a valid ONNX file, it is truncated (an interrupted copy or download) or not ONNX at all: %w; export it again or download it again", name, err)
	}
	if m.Graph == nil || len(m.Graph.Node) == 0 {
		return nil, fmt.Errorf("read model %s: no graph nodes; is this an ONNX model file?", name)
	}
	return &m, nil
}

// ImportOptions controls how a model's dynamic dimensions become static.
type ImportOptions struct {
	// Batch replaces every symbolic dimension of the inputs (PyTorch's
	// dynamic batch axis).
	Batch int64
	// InputShapes overrides whole input shapes by name.
	InputShapes map[string]Shape
}

// Import turns a decoded model into a Graph with static shapes. Constant
// nodes, shape computations and Identity aliases of weights are folded into
// initializers so that every remaining node is a real computation.
func Import(m *onnxpb.ModelProto, opt ImportOptions) (*Graph, error) {
	gp := m.GetGraph()
	g := New(gp.GetName())
	for _, op := range m.GetOpsetImport() {
		if op.GetDomain() == "" || op.GetDomain() == "ai.onnx" {
			if op.GetVersion() > g.Opset {
				// Newer opsets changed the signatures of some ops; keep the
				// model's own so its nodes mean what they meant.
				g.Opset = op.GetVersion()
			}
		}
	}
	for _, p := range m.GetMetadataProps() {
		g.meta[p.GetKey()] = p.GetValue()
	}
	for _, t := range gp.GetInitializer() {
		v, err := valueFromProto(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.GetName(), err)
		}
		g.inits[t.GetName()] = v
		g.info[t.GetName()] = Info{v.DType, slices.Clone(v.Shape)}
		g.names[t.GetName()]++
	}
	for _, in := range gp.GetInput() {
		if _, isInit := g.inits[in.GetName()]; isInit {
			continue
		}
		tt := in.GetType().GetTensorType()
		if tt == nil {
			return nil, fmt.Errorf("input %q is not a tensor", in.GetName())
		}
		shape, ok := opt.InputShapes[in.GetName()]
		if !ok {
			for i, d := range tt.GetShape().GetDim() {
				switch {
				case d.GetDimValue() > 0:
					shape = append(shape, d.GetDimValue())
				case opt.Batch > 0:
					shape = append(shape, opt.Batch)
				default:
					return nil, fmt.Errorf("input %q has symbolic dimension %d (%q); give a batch size", in.GetName(), i, d.GetDimParam())
				}
			}
		}
		g.Input(in.GetName(), DType(tt.GetElemType()), shape)
	}
	var nodes []*Node
	for _, np := range gp.GetNode() {
		n, err := nodeFromProto(np)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n)
	}
	// Exporters normally list nodes in order, but the format does not promise it.
	avail := map[string]bool{}
	for name := range g.info {
		avail[name] = true
	}
	nodes, err := sortNodes(nodes, avail)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		if g.fold(n) {
			continue
		}
		g.AddNode(n)
		if g.err != nil {
			return nil, g.err
		}
	}
	for _, o := range gp.GetOutput() {
		g.Output(o.GetName())
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	return g, nil
}

// LoadFile reads and imports an ONNX file.
func LoadFile(path string, opt ImportOptions) (*Graph, error) {
	m, err := ReadModel(path)
	if err != nil {
		return nil, err
	}
	g, err := Import(m, opt)
	if err != nil {
		return nil, fmt.Errorf("import model %s: %w", path, err)
	}
	return g, nil
}

// fold evaluates n at import time when it only computes constants, and
// records its output as an initializer. It reports whether it did.
func (g *Graph) fold(n *Node) bool {
	if len(n.Outputs) != 1 {
		return false
	}
	var v *Value
	switch n.Op {
	case OpConstant:
		c, err := ConstantValue(n)
		if err != nil {
			return false
		}
		v = c
	case OpShape:
		if s, ok := g.info[n.In(0)]; ok && s.Shape != nil && n.Attrs["start"] == nil && n.Attrs["end"] == nil {
			v = Ints(s.Shape...)
		}
	default:
		for _, in := range n.Inputs {
			if in == "" {
				continue
			}
			if _, ok := g.inits[in]; !ok {
				return false
			}
		}
		if n.Op == OpIdentity {
			v = g.inits[n.Inputs[0]]
			// A copy, not an alias: the student may train the source
			// while the alias (a running variance, say) stays put.
			v = &Value{DType: v.DType, Shape: slices.Clone(v.Shape), F32: slices.Clone(v.F32), I64: slices.Clone(v.I64)}
			break
		}
		v = foldInts(g, n)
	}
	if v == nil {
		return false
	}
	o := n.Outputs[0]
	g.inits[o] = v
	g.info[o] = Info{v.DType, slices.Clone(v.Shape)}
	g.names[o]++
	return true
}

// foldInts evaluates the int64 shape arithmetic that exporters emit.
func foldInts(g *Graph, n *Node) *Value {
	in := func(i int) *Value { return g.inits[n.In(i)] }
	x := in(0)
	if x == nil || x.DType == Float && n.Op != OpCast {
		return nil
	}
	switch n.Op {
	case OpUnsqueeze, OpSqueeze, OpReshape, OpFlatten:
		if err := g.infer(n); err != nil {
			return nil
		}
		s := g.info[n.Outputs[0]].Shape
		delete(g.info, n.Outputs[0])
		return &Value{DType: x.DType, Shape: s, I64: slices.Clone(x.I64)}
	case OpConcat:
		out := &Value{DType: x.DType}
		for i := range n.Inputs {
			if len(in(i).Shape) != 1 {
				return nil
			}
			out.I64 = append(out.I64, in(i).I64...)
		}
		out.Shape = Shape{int64(len(out.I64))}
		return out
	case OpGather:
		idx := in(1)
		if len(x.Shape) != 1 || n.Int("axis", 0) != 0 {
			return nil
		}
		out := &Value{DType: x.DType, Shape: slices.Clone(idx.Shape)}
		for _, i := range idx.I64 {
			if i < 0 {
				i += int64(len(x.I64))
			}
			if i < 0 || i >= int64(len(x.I64)) {
				return nil
			}
			out.I64 = append(out.I64, x.I64[i])
		}
		return out
	case OpCast:
		to := DType(n.Int("to", 0))
		switch {
		case to == Float:
			f := make([]float32, 0, x.Len())
			for _, e := range x.Float64s() {
				f = append(f, float32(e))
			}
			return Floats(x.Shape, f)
		case x.DType != Float && to != Bool:
			return &Value{DType: to, Shape: slices.Clone(x.Shape), I64: slices.Clone(x.I64)}
		}
	case OpAdd, OpSub, OpMul, OpDiv:
		y := in(1)
		if y == nil || y.DType == Float || (len(y.I64) != len(x.I64) && len(y.I64) != 1) {
			return nil
		}
		out := &Value{DType: x.DType, Shape: slices.Clone(x.Shape), I64: make([]int64, len(x.I64))}
		for i, a := range x.I64 {
			b := y.I64[min(i, len(y.I64)-1)]
			switch n.Op {
			case OpAdd:
				out.I64[i] = a + b
			case OpSub:
				out.I64[i] = a - b
			case OpMul:
				out.I64[i] = a * b
			case OpDiv:
				if b == 0 {
					return nil
				}
				out.I64[i] = a / b
			}
		}
		return out
	}
	return nil
}

func nodeFromProto(np *onnxpb.NodeProto) (*Node, error) {
	n := &Node{Op: OpType(np.GetOpType()), Domain: np.GetDomain(), Name: np.GetName(), Inputs: slices.Clone(np.GetInput()), Outputs: slices.Clone(np.GetOutput()), Attrs: Attrs{}}
	for _, a := range np.GetAttribute() {
		switch a.GetType() {
		case onnxpb.AttributeProto_FLOAT:
			n.Attrs[a.GetName()] = a.GetF()
		case onnxpb.AttributeProto_INT:
			n.Attrs[a.GetName()] = a.GetI()
		case onnxpb.AttributeProto_STRING:
			n.Attrs[a.GetName()] = string(a.GetS())
		case onnxpb.AttributeProto_FLOATS:
			n.Attrs[a.GetName()] = slices.Clone(a.GetFloats())
		case onnxpb.AttributeProto_INTS:
			n.Attrs[a.GetName()] = slices.Clone(a.GetInts())
		case onnxpb.AttributeProto_STRINGS:
			var ss []string
			for _, s := range a.GetStrings() {
				ss = append(ss, string(s))
			}
			n.Attrs[a.GetName()] = ss
		case onnxpb.AttributeProto_TENSOR:
			v, err := valueFromProto(a.GetT())
			if err != nil {
				return nil, fmt.Errorf("%s node %q attribute %s: %w", n.Op, n.Name, a.GetName(), err)
			}
			n.Attrs[a.GetName()] = v
		default:
			return nil, fmt.Errorf("%s node %q: attribute %s of type %v is not supported", n.Op, n.Name, a.GetName(), a.GetType())
		}
	}
	return n, nil
}

func valueFromProto(t *onnxpb.TensorProto) (*Value, error) {
	if t.GetDataLocation() == onnxpb.TensorProto_EXTERNAL || len(t.GetExternalData()) > 0 {
		return nil, errors.New("external tensor data is not supported; save the model with weights inside the file")
	}
	v := &Value{DType: DType(t.GetDataType()), Shape: Shape(slices.Clone(t.GetDims()))}
	if v.Shape == nil {
		v.Shape = Shape{}
	}
	n := int(v.Shape.Size())
	raw := t.GetRawData()
	switch v.DType {
	case Float:
		if raw != nil {
			if len(raw) != 4*n {
				return nil, fmt.Errorf("raw data has %d bytes for %d floats", len(raw), n)
			}
			v.F32 = make([]float32, n)
			for i := range v.F32 {
				v.F32[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
			}
		} else {
			v.F32 = slices.Clone(t.GetFloatData())
		}
	case Double:
		v.DType = Float // the engine computes in float32
		v.F32 = make([]float32, 0, n)
		if raw != nil {
			for i := 0; i+8 <= len(raw); i += 8 {
				v.F32 = append(v.F32, float32(math.Float64frombits(binary.LittleEndian.Uint64(raw[i:]))))
			}
		} else {
			for _, d := range t.GetDoubleData() {
				v.F32 = append(v.F32, float32(d))
			}
		}
	case Int64:
		if raw != nil {
			if len(raw) != 8*n {
				return nil, fmt.Errorf("raw data has %d bytes for %d int64", len(raw), n)
			}
			v.I64 = make([]int64, n)
			for i := range v.I64 {
				v.I64[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		} else {
			v.I64 = slices.Clone(t.GetInt64Data())
		}
	case Int32, Bool, Uint8, Int8:
		size := map[DType]int{Int32: 4, Bool: 1, Uint8: 1, Int8: 1}[v.DType]
		if raw != nil {
			if len(raw) != size*n {
				return nil, fmt.Errorf("raw data has %d bytes for %d %v", len(raw), n, v.DType)
			}
			v.I64 = make([]int64, n)
			for i := range v.I64 {
				switch v.DType {
				case Int32:
					v.I64[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
				case Int8:
					v.I64[i] = int64(int8(raw[i]))
				default:
					v.I64[i] = int64(raw[i])
				}
			}
		} else {
			for _, x := range t.GetInt32Data() {
				v.I64 = append(v.I64, int64(x))
			}
		}
	default:
		return nil, fmt.Errorf("tensor data type %v is not supported", v.DType)
	}
	if v.Len() != n {
		return nil, fmt.Errorf("%d values for shape %v", v.Len(), v.Shape)
	}
	return v, nil
}

// TensorProto encodes a value as an ONNX tensor (raw little-endian data).
func (v *Value) TensorProto(name string) *onnxpb.TensorProto {
	t := &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(v.DType)), Dims: slices.Clone(v.Shape)}
	switch v.DType {
	case Float:
		raw := make([]byte, 4*len(v.F32))
		for i, f := range v.F32 {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(f))
		}
		t.RawData = raw
	case Int64:
		raw := make([]byte, 8*len(v.I64))
		for i, x := range v.I64 {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
		}
		t.RawData = raw
	case Int32:
		raw := make([]byte, 4*len(v.I64))
		for i, x := range v.I64 {
			binary.LittleEndian.PutUint32(raw[4*i:], uint32(int32(x)))
		}
		t.RawData = raw
	default:
		raw := make([]byte, len(v.I64))
		for i, x := range v.I64 {
			raw[i] = byte(x)
		}
		t.RawData = raw
	}
	return t
}

func attrProto(name string, v any) (*onnxpb.AttributeProto, error) {
	a := &onnxpb.AttributeProto{Name: proto.String(name)}
	switch x := v.(type) {
	case int64:
		a.Type, a.I = typ(onnxpb.AttributeProto_INT), proto.Int64(x)
	case int:
		a.Type, a.I = typ(onnxpb.AttributeProto_INT), proto.Int64(int64(x))
	case float32:
		a.Type, a.F = typ(onnxpb.AttributeProto_FLOAT), proto.Float32(x)
	case float64:
		a.Type, a.F = typ(onnxpb.AttributeProto_FLOAT), proto.Float32(float32(x))
	case string:
		a.Type, a.S = typ(onnxpb.AttributeProto_STRING), []byte(x)
	case []int64:
		a.Type, a.Ints = typ(onnxpb.AttributeProto_INTS), x
	case []int:
		a.Type = typ(onnxpb.AttributeProto_INTS)
		for _, e := range x {
			a.Ints = append(a.Ints, int64(e))
		}
	case []float32:
		a.Type, a.Floats = typ(onnxpb.AttributeProto_FLOATS), x
	case []string:
		a.Type = typ(onnxpb.AttributeProto_STRINGS)
		for _, s := range x {
			a.Strings = append(a.Strings, []byte(s))
		}
	case *Value:
		a.Type, a.T = typ(onnxpb.AttributeProto_TENSOR), x.TensorProto("")
	default:
		return nil, fmt.Errorf("attribute %s has unsupported type %T", name, v)
	}
	return a, nil
}

func valueInfo(name string, in Info, dynamicBatch bool) *onnxpb.ValueInfoProto {
	var dims []*onnxpb.TensorShapeProto_Dimension
	for i, d := range in.Shape {
		if i == 0 && dynamicBatch {
			dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
			continue
		}
		dims = append(dims, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
		ElemType: proto.Int32(int32(in.DType)), Shape: &onnxpb.TensorShapeProto{Dim: dims}}}}}
}

// Model encodes the graph as an ONNX model, composite ops lowered.
func (g *Graph) Model() (*onnxpb.ModelProto, error) {
	if g.err != nil {
		return nil, g.err
	}
	g, err := g.lowered()
	if err != nil {
		return nil, err
	}
	gp := &onnxpb.GraphProto{Name: proto.String(g.Name)}
	for _, in := range g.Inputs {
		gp.Input = append(gp.Input, valueInfo(in, g.info[in], g.DynamicBatch))
	}
	for _, o := range g.Outputs {
		gp.Output = append(gp.Output, valueInfo(o, g.info[o], g.DynamicBatch))
	}
	names := make([]string, 0, len(g.inits))
	for k := range g.inits {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		gp.Initializer = append(gp.Initializer, g.inits[k].TensorProto(k))
	}
	for _, n := range g.Nodes {
		np := &onnxpb.NodeProto{OpType: proto.String(string(n.Op)), Name: proto.String(n.Name), Input: n.Inputs, Output: n.Outputs}
		if n.Domain != "" {
			np.Domain = proto.String(n.Domain)
		}
		keys := make([]string, 0, len(n.Attrs))
		for k := range n.Attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			a, err := attrProto(k, n.Attrs[k])
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Describe(), err)
			}
			np.Attribute = append(np.Attribute, a)
		}
		gp.Node = append(gp.Node, np)
	}
	m := &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		ProducerName: proto.String("fmam"),
		Graph:        gp,
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(g.Opset)}},
	}
	keys := make([]string, 0, len(g.meta))
	for k := range g.meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(g.meta[k])})
	}
	return m, nil
}

// Bytes encodes the graph as ONNX bytes, after checking it.
func (g *Graph) Bytes() ([]byte, error) {
	if err := g.Check(); err != nil {
		return nil, err
	}
	m, err := g.Model()
	if err != nil {
		return nil, err
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode graph %s: %w", g.Name, err)
	}
	if len(b) > MaxModelBytes {
		return nil, fmt.Errorf("encode graph %s: %d bytes is over the 2 GiB protobuf limit", g.Name, len(b))
	}
	return b, nil
}

// Save writes the graph as an ONNX file atomically.
func (g *Graph) Save(path string) error {
	b, err := g.Bytes()
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b)
}

// Check validates the graph the way onnx.checker does for what fmam
// writes: every input is defined before use, every name is written once,
// outputs exist, initializer sizes match their shapes.
func (g *Graph) Check() error {
	if g.err != nil {
		return g.err
	}
	defined := map[string]bool{"": true}
	for _, in := range g.Inputs {
		if defined[in] {
			return fmt.Errorf("graph %s: input %q declared twice", g.Name, in)
		}
		defined[in] = true
	}
	for k, v := range g.inits {
		if int64(v.Len()) != v.Shape.Size() {
			return fmt.Errorf("graph %s: initializer %q has %d values for shape %v", g.Name, k, v.Len(), v.Shape)
		}
		if defined[k] {
			return fmt.Errorf("graph %s: initializer %q is also an input", g.Name, k)
		}
		defined[k] = true
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if !defined[in] {
				return fmt.Errorf("graph %s: %s reads %q before it is defined", g.Name, n.Describe(), in)
			}
		}
		for _, o := range n.Outputs {
			if o == "" {
				continue
			}
			if defined[o] {
				return fmt.Errorf("graph %s: %s writes %q, which is already defined", g.Name, n.Describe(), o)
			}
			defined[o] = true
		}
	}
	if len(g.Outputs) == 0 {
		return fmt.Errorf("graph %s: no outputs", g.Name)
	}
	for _, o := range g.Outputs {
		if !defined[o] {
			return fmt.Errorf("graph %s: output %q is not defined", g.Name, o)
		}
	}
	return nil
}

func typ(t onnxpb.AttributeProto_AttributeType) *onnxpb.AttributeProto_AttributeType { return &t }
