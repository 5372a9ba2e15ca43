package train

import (
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/fmam/fmam/internal/atomicfile"
)

// Checkpoint is everything needed to continue a run bit for bit:
// parameters, optimizer and normalisation state, the step, and the data
// iterator's position (which includes its RNG seed and epoch).
type Checkpoint struct {
	Format  int
	Step    int
	Tensors map[string][]float32
	// Data is the batch source's opaque position.
	Data []byte
	// Fingerprint ties the checkpoint to the model it was written for.
	Fingerprint string
}

const checkpointFormat = 1

// SaveCheckpoint writes a checkpoint atomically: an interrupted write
// leaves the previous checkpoint intact.
func SaveCheckpoint(path string, c *Checkpoint) error {
	c.Format = checkpointFormat
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(c); err != nil {
		return fmt.Errorf("encode checkpoint %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// LoadCheckpoint reads a checkpoint; a missing file returns (nil, nil).
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(&c); err != nil {
		return nil, fmt.Errorf("read checkpoint %s: corrupt or truncated (%v); delete it to start over", path, err)
	}
	if c.Format != checkpointFormat {
		return nil, fmt.Errorf("read checkpoint %s: format %d, this fmam reads %d", path, c.Format, checkpointFormat)
	}
	return &c, nil
}
