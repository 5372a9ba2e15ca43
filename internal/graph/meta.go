package graph

import (
	"fmt"
	"os"
	"sort"

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
func Annotate(path string, meta map[string]string, dynamicBatch bool) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("annotate model: %w", err)
	}
	m, err := ReadModel(path)
	if err != nil {
		return err
	}
	SetMetadata(m, meta)
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
