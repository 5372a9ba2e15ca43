package graph

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/onnxpb"
)

// Annotate rewrites the ONNX file at path in place with the metadata
// entries set (others kept) and, when dynamicBatch is set, the first
// dimension of every graph input and output symbolic ("N"). The graph
// itself is unchanged, so the model computes exactly what it did; the
// file keeps its modification time, so that files derived from the model
// (raw scores) stay up to date.
//
// extend, when not nil, appends nodes and outputs to the model (score
// post-processing); what an earlier Annotate appended (tensors named
// with AppendPrefix) is removed first, so annotating again replaces it.
func Annotate(path string, meta map[string]string, dynamicBatch bool, extend func(*Appender) error) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("annotate model: %w", err)
	}
	m, err := ReadModel(path)
	if err != nil {
		return err
	}
	SetMetadata(m, meta)
	if extend != nil {
		if err := extend(newAppender(m)); err != nil {
			return fmt.Errorf("annotate model %s: %w", path, err)
		}
	}
	if dynamicBatch {
		for _, vi := range append(m.Graph.Input, m.Graph.Output...) {
			if d := vi.GetType().GetTensorType().GetShape().GetDim(); len(d) > 0 {
				d[0].Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}
			}
		}
		// Shapes of intermediate tensors would pin the batch again.
		m.Graph.ValueInfo = nil
	}
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return fmt.Errorf("annotate model %s: %w", path, err)
	}
	if err := atomicfile.Write(path, b); err != nil {
		return err
	}
	return os.Chtimes(path, st.ModTime(), st.ModTime())
}

// SetMetadata sets metadata_props entries of m, keeping the others, in
// key order.
func SetMetadata(m *onnxpb.ModelProto, meta map[string]string) {
	all := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		all[p.GetKey()] = p.GetValue()
	}
	for k, v := range meta {
		all[k] = v
	}
	keys := make([]string, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	m.MetadataProps = nil
	for _, k := range keys {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String(k), Value: proto.String(all[k])})
	}
}

// ModelMetadata returns m's metadata_props as a map.
func ModelMetadata(m *onnxpb.ModelProto) map[string]string {
	out := map[string]string{}
	for _, p := range m.GetMetadataProps() {
		out[p.GetKey()] = p.GetValue()
	}
	return out
}

// AppendPrefix names the tensors Annotate's extend appends.
const AppendPrefix = "post/"

// Appender appends nodes to a decoded model: the score post-processing
// an evaluated model carries (see Annotate).
type Appender struct {
	m   *onnxpb.ModelProto
	n   int
	err error
}

// newAppender removes what an earlier Appender added to m: nodes writing
// and initializers named with AppendPrefix, and the outputs they fed.
func newAppender(m *onnxpb.ModelProto) *Appender {
	g := m.Graph
	added := map[string]bool{}
	var nodes []*onnxpb.NodeProto
	for _, n := range g.Node {
		if len(n.Output) > 0 && strings.HasPrefix(n.GetName(), AppendPrefix) {
			for _, o := range n.Output {
				added[o] = true
			}
			continue
		}
		nodes = append(nodes, n)
	}
	g.Node = nodes
	g.Initializer = slices.DeleteFunc(g.Initializer, func(t *onnxpb.TensorProto) bool { return strings.HasPrefix(t.GetName(), AppendPrefix) })
	g.Output = slices.DeleteFunc(g.Output, func(v *onnxpb.ValueInfoProto) bool { return added[v.GetName()] })
	return &Appender{m: m}
}

// Op appends a node and returns its output's name.
func (a *Appender) Op(op OpType, inputs []string, attrs Attrs) string {
	a.n++
	name := fmt.Sprintf("%s%s_%d", AppendPrefix, strings.ToLower(string(op)), a.n)
	np := &onnxpb.NodeProto{OpType: proto.String(string(op)), Name: proto.String(name), Input: inputs, Output: []string{name}}
	keys := slices.Sorted(maps.Keys(attrs))
	for _, k := range keys {
		at, err := attrProto(k, attrs[k])
		if err != nil && a.err == nil {
			a.err = err
		}
		np.Attribute = append(np.Attribute, at)
	}
	a.m.Graph.Node = append(a.m.Graph.Node, np)
	return name
}

// Scalar appends a float constant and returns its name.
func (a *Appender) Scalar(v float32) string {
	a.n++
	name := fmt.Sprintf("%sc_%d", AppendPrefix, a.n)
	a.m.Graph.Initializer = append(a.m.Graph.Initializer, Floats(Shape{}, []float32{v}).TensorProto(name))
	return name
}

// Ints appends an int64 vector constant and returns its name.
func (a *Appender) Ints(v ...int64) string {
	a.n++
	name := fmt.Sprintf("%sc_%d", AppendPrefix, a.n)
	a.m.Graph.Initializer = append(a.m.Graph.Initializer, Ints(v...).TensorProto(name))
	return name
}

// Output makes t a graph output called name, of element type dt and
// shape [batch] (the batch of the model's first input).
func (a *Appender) Output(name, t string, dt DType) {
	a.n++
	a.m.Graph.Node = append(a.m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String(string(OpIdentity)),
		Name: proto.String(fmt.Sprintf("%sout_%d", AppendPrefix, a.n)), Input: []string{t}, Output: []string{name}})
	batch := int64(1)
	if ins := a.m.Graph.GetInput(); len(ins) > 0 {
		if d := ins[0].GetType().GetTensorType().GetShape().GetDim(); len(d) > 0 {
			batch = d[0].GetDimValue()
		}
	}
	a.m.Graph.Output = append(a.m.Graph.Output, valueInfo(name, Info{DType: dt, Shape: Shape{batch}}, false))
}

// Err is the first error of an Op.
func (a *Appender) Err() error { return a.err }
