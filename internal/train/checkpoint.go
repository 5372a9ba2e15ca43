package train

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"hash/crc32"
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

// checkpointFormat 2 adds the header below; format 1 (a bare gob) is read
// without a check, and Loop warns that it resumes unverified.
const checkpointFormat = 2

// checkpointMagic starts a checkpoint file; after it come the payload's
// CRC-32C and length (big-endian uint32, uint64), then the gob payload. A
// flipped byte or a cut file then fails the load instead of changing a
// weight.
const checkpointMagic = "FMAMCKPT"

const checkpointHeader = len(checkpointMagic) + 4 + 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// SaveCheckpoint writes a checkpoint atomically: an interrupted write
// leaves the previous checkpoint intact.
func SaveCheckpoint(path string, c *Checkpoint) error {
	c.Format = checkpointFormat
	var payload bytes.Buffer
	if err := gob.NewEncoder(&payload).Encode(c); err != nil {
		return fmt.Errorf("encode checkpoint %s: %w", path, err)
	}
	b := make([]byte, checkpointHeader, checkpointHeader+payload.Len())
	copy(b, checkpointMagic)
	binary.BigEndian.PutUint32(b[len(checkpointMagic):], crc32.Checksum(payload.Bytes(), castagnoli))
	binary.BigEndian.PutUint64(b[len(checkpointMagic)+4:], uint64(payload.Len()))
	return atomicfile.Write(path, append(b, payload.Bytes()...))
}

// LoadCheckpoint reads a checkpoint and checks its checksum; a missing file
// returns (nil, nil). A format 1 checkpoint (no checksum) is read as it is;
// its Format says so.
func LoadCheckpoint(path string) (*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read checkpoint %s: %w", path, err)
	}
	damaged := func(what string) error {
		return fmt.Errorf("checkpoint %s is damaged (%s); delete it to restart this stage from step 0, or restore it from a copy", path, what)
	}
	payload := b
	if bytes.HasPrefix(b, []byte(checkpointMagic)) {
		if len(b) < checkpointHeader {
			return nil, damaged(fmt.Sprintf("%d bytes, shorter than its header", len(b)))
		}
		sum := binary.BigEndian.Uint32(b[len(checkpointMagic):])
		n := binary.BigEndian.Uint64(b[len(checkpointMagic)+4:])
		payload = b[checkpointHeader:]
		if uint64(len(payload)) != n {
			return nil, damaged(fmt.Sprintf("payload of %d bytes, the header says %d: truncated or appended to", len(payload), n))
		}
		if got := crc32.Checksum(payload, castagnoli); got != sum {
			return nil, damaged(fmt.Sprintf("CRC-32C %08x, the header says %08x", got, sum))
		}
	}
	var c Checkpoint
	if err := gob.NewDecoder(bytes.NewReader(payload)).Decode(&c); err != nil {
		return nil, damaged(fmt.Sprintf("corrupt or truncated: %v", err))
	}
	switch {
	case c.Format == 1 && len(payload) == len(b):
	case c.Format == checkpointFormat && len(payload) < len(b):
	default:
		return nil, fmt.Errorf("read checkpoint %s: format %d, this fmam reads 1 and %d; delete it to restart this stage from step 0", path, c.Format, checkpointFormat)
	}
	return &c, nil
}
