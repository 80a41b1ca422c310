package prompt

import (
	"encoding/binary"
	"fmt"
)

// ParseWAV reads a RIFF WAVE file of 16-bit PCM mono audio (what sox and
// espeak-ng write; WAVE_FORMAT_EXTENSIBLE with PCM too) and returns its rate
// and samples. Chunks other than "fmt " and "data" (LIST, fact…) are
// skipped. Prompt files are the operator's, not the network's, but they are
// parsed with the same care (FuzzParseWAV).
func ParseWAV(b []byte) (rate int, samples []int16, err error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, nil, fmt.Errorf("%w: want a RIFF/WAVE header, got %q", ErrWAV, b[:min(12, len(b))])
	}
	haveFmt := false
	for off := 12; off+8 <= len(b); {
		id := string(b[off : off+4])
		size := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8:]
		if size > len(body) || size < 0 {
			return 0, nil, fmt.Errorf("%w: chunk %q says %d bytes, %d are left", ErrWAV, id, size, len(body))
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, nil, fmt.Errorf("%w: fmt chunk of %d bytes, want at least 16", ErrWAV, size)
			}
			format := binary.LittleEndian.Uint16(body[0:])
			channels := binary.LittleEndian.Uint16(body[2:])
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			bits := binary.LittleEndian.Uint16(body[14:])
			if format == 0xfffe && size >= 26 {
				format = binary.LittleEndian.Uint16(body[24:]) // the sub-format GUID starts with the format code
			}
			if format != 1 || channels != 1 || bits != 16 {
				return 0, nil, fmt.Errorf("%w: got format %d, %d channels, %d bits", ErrWAV, format, channels, bits)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return 0, nil, fmt.Errorf("%w: data before the fmt chunk", ErrWAV)
			}
			samples = make([]int16, size/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, samples, nil
		}
		off += 8 + size + size%2
	}
	return 0, nil, fmt.Errorf("%w: no data chunk", ErrWAV)
}
