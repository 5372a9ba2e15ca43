// Package graph builds ONNX computation graphs in Go with static shapes.
//
// Every tensor in a Graph has a known dtype and a fully static shape: the
// training engine builds one train-step graph per run with a fixed batch, and
// static shapes are what let the gradient rules (broadcast reduction, conv
// weight gradients) be written as plain ONNX ops without Shape/Expand chains.
//
// Builders record the first error and keep going (like bufio.Scanner), so
// long layer-building code does not need an error check per op: check
// Graph.Err once at the end.
package graph

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// DType is an ONNX TensorProto data type.
type DType int32

// The data types the engine uses. Values are ONNX's TensorProto.DataType.
const (
	Float  DType = 1
	Uint8  DType = 2
	Int8   DType = 3
	Int32  DType = 6
	Int64  DType = 7
	Bool   DType = 9
	Double DType = 11
)

func (d DType) String() string {
	switch d {
	case Float:
		return "float32"
	case Uint8:
		return "uint8"
	case Int8:
		return "int8"
	case Int32:
		return "int32"
	case Int64:
		return "int64"
	case Bool:
		return "bool"
	case Double:
		return "float64"
	}
	return "dtype(" + strconv.Itoa(int(d)) + ")"
}

// Shape is a static tensor shape.
type Shape []int64

// Size is the number of elements.
func (s Shape) Size() int64 {
	n := int64(1)
	for _, d := range s {
		n *= d
	}
	return n
}

func (s Shape) String() string { return fmt.Sprint([]int64(s)) }

// Info is the static type of a tensor.
type Info struct {
	DType DType
	Shape Shape
}

// State is a tensor carried from one train step to the next: the step
// reads it as the graph input Name and writes its next value as the
// tensor Next. Init is its initial value where the builder that made it
// knows one (an optimizer's moments start at zero); a state that is an
// initializer while the forward graph is built starts at the
// initializer's value instead.
type State struct {
	Name, Next string
	Init       *Value
}

// Value is constant tensor data: an initializer, a Constant, or an attribute.
type Value struct {
	DType DType
	Shape Shape
	F32   []float32 // for Float
	I64   []int64   // for Int64, Int32, Bool, Uint8, Int8 (widened)
}

// Floats returns a float tensor value.
func Floats(shape Shape, v []float32) *Value {
	return &Value{DType: Float, Shape: slices.Clone(shape), F32: v}
}

// Ints returns a 1-D int64 value, the form shape-like inputs take.
func Ints(v ...int64) *Value {
	return &Value{DType: Int64, Shape: Shape{int64(len(v))}, I64: slices.Clone(v)}
}

// Len is the number of elements.
func (v *Value) Len() int {
	if v.DType == Float {
		return len(v.F32)
	}
	return len(v.I64)
}

// Float64s returns the data widened to float64 whatever its dtype.
func (v *Value) Float64s() []float64 {
	out := make([]float64, v.Len())
	if v.DType == Float {
		for i, x := range v.F32 {
			out[i] = float64(x)
		}
		return out
	}
	for i, x := range v.I64 {
		out[i] = float64(x)
	}
	return out
}

// Attrs are node attributes. Allowed value types: int64, int, float32,
// float64, string, []int64, []float32, []string, *Value.
type Attrs map[string]any

// Node is one ONNX op application.
type Node struct {
	Op      OpType
	Domain  string
	Name    string
	Inputs  []string // "" marks an omitted optional input
	Outputs []string
	Attrs   Attrs
}

// Int returns an integer attribute or def.
func (n *Node) Int(name string, def int64) int64 {
	switch v := n.Attrs[name].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	}
	return def
}

// Float returns a float attribute or def.
func (n *Node) Float(name string, def float32) float32 {
	switch v := n.Attrs[name].(type) {
	case float32:
		return v
	case float64:
		return float32(v)
	}
	return def
}

// IntsAttr returns an int list attribute or nil.
func (n *Node) IntsAttr(name string) []int64 {
	switch v := n.Attrs[name].(type) {
	case []int64:
		return v
	case []int:
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out
	}
	return nil
}

// String returns a string attribute or def.
func (n *Node) String(name, def string) string {
	if v, ok := n.Attrs[name].(string); ok {
		return v
	}
	return def
}

// In returns input i or "" when it is absent.
func (n *Node) In(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// Describe names the node for error messages.
func (n *Node) Describe() string {
	if n.Name != "" {
		return fmt.Sprintf("%s node %q", n.Op, n.Name)
	}
	if len(n.Outputs) > 0 {
		return fmt.Sprintf("%s node producing %q", n.Op, n.Outputs[0])
	}
	return string(n.Op) + " node"
}

// Graph is an ONNX graph under construction.
//
// Nodes, Inputs and Outputs may be read freely; other packages change
// them, and the tensor tables behind Has, Shape, Const and Producer, only
// through Graph's methods, which keep every tensor's type, producer and
// initializer consistent with the node list.
type Graph struct {
	Name    string
	Opset   int64
	Nodes   []*Node
	Inputs  []string
	Outputs []string
	// DynamicBatch writes the first dimension of inputs and outputs as a
	// symbolic "N", so the exported model imports at any batch size. Only
	// set it for graphs whose nodes do not bake the batch in.
	DynamicBatch bool

	inits map[string]*Value
	info  map[string]Info
	// producer maps a tensor name to the node that writes it.
	producer map[string]*Node
	// meta holds model metadata_props written on export.
	meta map[string]string

	err   error
	names map[string]int
}

// DefaultOpset is the ai.onnx opset graphs are written for. 17 covers every
// op the engine emits and the opset-13 models PyTorch exports.
const DefaultOpset = 17

// New returns an empty graph.
func New(name string) *Graph {
	return &Graph{
		Name:     name,
		Opset:    DefaultOpset,
		inits:    map[string]*Value{},
		info:     map[string]Info{},
		producer: map[string]*Node{},
		meta:     map[string]string{},
		names:    map[string]int{},
	}
}

// Err returns the first error recorded by a builder method.
func (g *Graph) Err() error { return g.err }

// Fail records err unless an earlier error is already recorded.
func (g *Graph) Fail(err error) {
	if g.err == nil && err != nil {
		g.err = err
	}
}

// Has reports whether a tensor of that name exists.
func (g *Graph) Has(name string) bool {
	_, ok := g.info[name]
	return ok
}

// Fresh returns a tensor name based on base that is not used yet.
func (g *Graph) Fresh(base string) string {
	if base == "" {
		base = "t"
	}
	if !g.Has(base) && g.names[base] == 0 {
		g.names[base] = 1
		return base
	}
	for {
		g.names[base]++
		name := base + "_" + strconv.Itoa(g.names[base])
		if !g.Has(name) {
			return name
		}
	}
}

// Shape returns the static shape of a tensor (nil when unknown).
func (g *Graph) Shape(name string) Shape { return g.info[name].Shape }

// DType returns the data type of a tensor.
func (g *Graph) DType(name string) DType { return g.info[name].DType }

// Rank returns the rank of a tensor.
func (g *Graph) Rank(name string) int { return len(g.info[name].Shape) }

// Input declares a graph input.
func (g *Graph) Input(name string, dt DType, shape Shape) string {
	if g.Has(name) {
		g.Fail(fmt.Errorf("graph %s: input %q already defined", g.Name, name))
		return name
	}
	g.names[name]++
	g.Inputs = append(g.Inputs, name)
	g.info[name] = Info{dt, slices.Clone(shape)}
	return name
}

// Init adds an initializer under name (made unique) and returns its name.
func (g *Graph) Init(name string, v *Value) string {
	if int64(v.Len()) != v.Shape.Size() {
		g.Fail(fmt.Errorf("graph %s: initializer %q has %d values for shape %v", g.Name, name, v.Len(), v.Shape))
	}
	name = g.Fresh(name)
	g.inits[name] = v
	g.info[name] = Info{v.DType, slices.Clone(v.Shape)}
	return name
}

// SetInit replaces the data of an existing initializer of the same shape.
func (g *Graph) SetInit(name string, v *Value) error {
	old, ok := g.inits[name]
	if !ok {
		return fmt.Errorf("graph %s: no initializer %q", g.Name, name)
	}
	if old.DType != v.DType || !slices.Equal(old.Shape, v.Shape) {
		return fmt.Errorf("graph %s: initializer %q is %v %v, new value is %v %v", g.Name, name, old.DType, old.Shape, v.DType, v.Shape)
	}
	g.inits[name] = v
	return nil
}

// Scalar adds a float constant of shape [1] (which broadcasts like a scalar
// and avoids onnxruntime_go's rank-0 tensor limits).
func (g *Graph) Scalar(f float32) string {
	return g.Init("c", Floats(Shape{1}, []float32{f}))
}

// Const1D adds an int64 vector constant (for axes, shapes, pads).
func (g *Graph) Const1D(v ...int64) string { return g.Init("ci", Ints(v...)) }

// Output marks tensors as graph outputs.
func (g *Graph) Output(names ...string) {
	for _, n := range names {
		if !g.Has(n) {
			g.Fail(fmt.Errorf("graph %s: output %q is not a tensor of the graph", g.Name, n))
			continue
		}
		if !slices.Contains(g.Outputs, n) {
			g.Outputs = append(g.Outputs, n)
		}
	}
}

// Const returns the value of a tensor when it is a constant initializer.
func (g *Graph) Const(name string) (*Value, bool) {
	v, ok := g.inits[name]
	return v, ok
}

// InitNames returns the names of all initializers, sorted.
func (g *Graph) InitNames() []string { return slices.Sorted(maps.Keys(g.inits)) }

// TensorNames returns the names of all tensors (inputs, initializers and
// node outputs), sorted.
func (g *Graph) TensorNames() []string { return slices.Sorted(maps.Keys(g.info)) }

// Producer returns the node that writes a tensor, nil for inputs,
// initializers and unknown names.
func (g *Graph) Producer(name string) *Node { return g.producer[name] }

// Meta returns a model metadata value ("" when absent).
func (g *Graph) Meta(key string) string { return g.meta[key] }

// MetaKeys returns the metadata keys, sorted.
func (g *Graph) MetaKeys() []string { return slices.Sorted(maps.Keys(g.meta)) }

// SetMeta sets a metadata value, written into the model's metadata_props.
func (g *Graph) SetMeta(key, value string) { g.meta[key] = value }

// DeleteMeta removes a metadata entry.
func (g *Graph) DeleteMeta(key string) { delete(g.meta, key) }

// Op appends a single-output node and returns its output name.
func (g *Graph) Op(op OpType, inputs []string, attrs Attrs) string {
	outs := g.OpN(op, inputs, 1, attrs)
	if len(outs) == 0 {
		return ""
	}
	return outs[0]
}

// OpN appends a node with n outputs, infers their types and returns them.
func (g *Graph) OpN(op OpType, inputs []string, n int, attrs Attrs) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = g.Fresh(lowerOp(op))
	}
	g.AddNode(&Node{Op: op, Name: outs[0], Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}

// AddNode appends a fully specified node and infers its output types.
func (g *Graph) AddNode(n *Node) {
	if g.err != nil {
		// Keep names defined so later builder calls fail quietly on the
		// first error instead of producing a cascade of unrelated ones.
		for _, o := range n.Outputs {
			if !g.Has(o) {
				g.info[o] = Info{DType: Float}
			}
		}
		return
	}
	for _, in := range n.Inputs {
		if in != "" && !g.Has(in) {
			g.Fail(fmt.Errorf("graph %s: %s: input %q is not defined", g.Name, n.Describe(), in))
			return
		}
	}
	if n.Attrs == nil {
		n.Attrs = Attrs{}
	}
	for _, o := range n.Outputs {
		if o == "" {
			continue
		}
		if _, dup := g.producer[o]; dup || slices.Contains(g.Inputs, o) {
			g.Fail(fmt.Errorf("graph %s: %s: tensor %q is written twice", g.Name, n.Describe(), o))
			return
		}
		g.names[o]++
	}
	g.Nodes = append(g.Nodes, n)
	for _, o := range n.Outputs {
		if o != "" {
			g.producer[o] = n
		}
	}
	if err := g.infer(n); err != nil {
		g.Fail(fmt.Errorf("graph %s: %s: %w", g.Name, n.Describe(), err))
	}
}

func lowerOp(op OpType) string {
	b := []byte(op)
	if len(b) > 0 && b[0] >= 'A' && b[0] <= 'Z' {
		b[0] += 'a' - 'A'
	}
	return string(b)
}

// ErrUnsupported is returned for ops the engine has no shape or gradient rule for.
var ErrUnsupported = errors.New("unsupported op")

// Clone returns a deep copy of the graph structure. Initializer data is
// shared: values are treated as immutable and replaced with SetInit.
func (g *Graph) Clone() *Graph {
	c := New(g.Name)
	c.Opset = g.Opset
	c.err = g.err
	c.Inputs = slices.Clone(g.Inputs)
	c.Outputs = slices.Clone(g.Outputs)
	for k, v := range g.inits {
		c.inits[k] = v
	}
	for k, v := range g.info {
		c.info[k] = Info{v.DType, slices.Clone(v.Shape)}
	}
	for k, v := range g.meta {
		c.meta[k] = v
	}
	for k, v := range g.names {
		c.names[k] = v
	}
	for _, n := range g.Nodes {
		m := &Node{Op: n.Op, Domain: n.Domain, Name: n.Name, Inputs: slices.Clone(n.Inputs), Outputs: slices.Clone(n.Outputs), Attrs: Attrs{}}
		for k, v := range n.Attrs {
			m.Attrs[k] = v
		}
		c.Nodes = append(c.Nodes, m)
		for _, o := range m.Outputs {
			if o != "" {
				c.producer[o] = m
			}
		}
	}
	return c
}

// Consumers returns, for each tensor, the nodes reading it.
func (g *Graph) Consumers() map[string][]*Node {
	out := map[string][]*Node{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				out[in] = append(out[in], n)
			}
		}
	}
	return out
}

// Prune drops nodes and initializers that no graph output depends on.
func (g *Graph) Prune() {
	live := map[string]bool{}
	for _, o := range g.Outputs {
		live[o] = true
	}
	keep := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if live[o] {
				keep[i] = true
				break
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				live[in] = true
			}
		}
	}
	var nodes []*Node
	for i, n := range g.Nodes {
		if keep[i] {
			nodes = append(nodes, n)
		} else {
			for _, o := range n.Outputs {
				delete(g.producer, o)
				delete(g.info, o)
			}
		}
	}
	g.Nodes = nodes
	for name := range g.inits {
		if !live[name] {
			delete(g.inits, name)
			delete(g.info, name)
		}
	}
}

// Cut returns a copy of the graph whose only output is tensor, pruned to
// what that tensor needs (a backbone cut at a feature layer, say).
func (g *Graph) Cut(tensor string) (*Graph, error) {
	if !g.Has(tensor) {
		return nil, fmt.Errorf("graph %s: no tensor %q to cut at", g.Name, tensor)
	}
	c := g.Clone()
	c.Outputs = []string{tensor}
	c.Prune()
	var ins []string
	for _, in := range c.Inputs {
		for _, n := range c.Nodes {
			if slices.Contains(n.Inputs, in) {
				ins = append(ins, in)
				break
			}
		}
	}
	c.Inputs = ins
	return c, nil
}

// Rename returns a copy in which every tensor name except the listed ones
// is given prefix, so that two copies of one network (teacher and student)
// can live in one graph without clashes.
func (g *Graph) Rename(prefix string, keep ...string) *Graph {
	r := func(s string) string {
		if s == "" || slices.Contains(keep, s) {
			return s
		}
		return prefix + s
	}
	c := New(g.Name)
	c.Opset = g.Opset
	c.err = g.err
	for _, in := range g.Inputs {
		c.Inputs = append(c.Inputs, r(in))
	}
	for _, o := range g.Outputs {
		c.Outputs = append(c.Outputs, r(o))
	}
	for k, v := range g.inits {
		c.inits[r(k)] = v
	}
	for k, v := range g.info {
		c.info[r(k)] = Info{v.DType, slices.Clone(v.Shape)}
		c.names[r(k)]++
	}
	for k, v := range g.meta {
		c.meta[k] = v
	}
	for _, n := range g.Nodes {
		m := &Node{Op: n.Op, Domain: n.Domain, Name: r(n.Name), Attrs: Attrs{}}
		for _, in := range n.Inputs {
			m.Inputs = append(m.Inputs, r(in))
		}
		for _, o := range n.Outputs {
			m.Outputs = append(m.Outputs, r(o))
		}
		for k, v := range n.Attrs {
			m.Attrs[k] = v
		}
		c.Nodes = append(c.Nodes, m)
		for _, o := range m.Outputs {
			if o != "" {
				c.producer[o] = m
			}
		}
	}
	return c
}

// Merge copies every node, initializer and tensor of other into g. Names
// must not clash (use Rename first); inputs of other that g already has
// are shared, which is how a student reads the teacher's input batch.
func (g *Graph) Merge(other *Graph) {
	for _, in := range other.Inputs {
		if g.Has(in) {
			if !slices.Equal(g.Shape(in), other.Shape(in)) {
				g.Fail(fmt.Errorf("graph %s: merged input %q has shape %v here and %v in %s", g.Name, in, g.Shape(in), other.Shape(in), other.Name))
			}
			continue
		}
		g.Input(in, other.DType(in), other.Shape(in))
	}
	for k, v := range other.inits {
		if g.Has(k) {
			g.Fail(fmt.Errorf("graph %s: merged initializer %q clashes", g.Name, k))
			continue
		}
		g.inits[k] = v
		g.info[k] = other.info[k]
		g.names[k]++
	}
	for _, n := range other.Nodes {
		// A copy: rules may rewrite nodes (MaxPool gains an Indices output)
		// and must not change the graph merged from.
		m := &Node{Op: n.Op, Domain: n.Domain, Name: n.Name, Inputs: slices.Clone(n.Inputs), Outputs: slices.Clone(n.Outputs), Attrs: Attrs{}}
		for k, v := range n.Attrs {
			m.Attrs[k] = v
		}
		for _, o := range m.Outputs {
			if g.Has(o) {
				g.Fail(fmt.Errorf("graph %s: merged tensor %q clashes", g.Name, o))
				return
			}
			g.info[o] = other.info[o]
			g.names[o]++
			g.producer[o] = m
		}
		g.Nodes = append(g.Nodes, m)
	}
}

// Clone copies a shape.
func (s Shape) Clone() Shape { return slices.Clone(s) }
