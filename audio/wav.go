package audio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// MaxWAVData bounds the sample bytes ReadWAV accepts and a WAVWriter writes:
// 64 MiB is over an hour of 8 kHz mono, and keeps a hostile file from
// exhausting memory.
const MaxWAVData = 64 << 20

// WAVInfo describes the PCM data of a WAV file.
type WAVInfo struct {
	SampleRate    int
	Channels      int
	BitsPerSample int
	// Truncated is set when the data chunk declared more bytes than the file
	// holds (for example a recording cut off by a crash); the samples present
	// are returned.
	Truncated bool
}

// Format returns the Format of the file's samples with the given frame duration.
func (i WAVInfo) Format() Format {
	return Format{SampleRate: i.SampleRate, Channels: i.Channels, Frame: Narrowband.Frame}
}

const (
	wavFormatPCM        = 1
	wavFormatExtensible = 0xFFFE
	wavHeaderSize       = 44
	maxFmtChunk         = 1024
	maxWAVChannels      = 16
	maxWAVRate          = 768000
)

// ReadWAV reads a complete WAV stream and returns its interleaved samples.
// Only 16-bit integer PCM is accepted (plain or WAVE_FORMAT_EXTENSIBLE);
// other encodings give an error wrapping ErrUnsupportedWAV, malformed data
// one wrapping ErrBadWAV. A data chunk with size 0 or 0xFFFFFFFF (a
// streaming writer) is read to the end of the stream.
func ReadWAV(r io.Reader) ([]int16, WAVInfo, error) {
	var info WAVInfo
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, info, fmt.Errorf("%w: riff header: %w", ErrBadWAV, err)
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return nil, info, fmt.Errorf("%w: not a RIFF/WAVE file", ErrBadWAV)
	}
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return nil, info, fmt.Errorf("%w: no fmt chunk", ErrBadWAV)
			}
			return nil, info, fmt.Errorf("%w: no data chunk", ErrBadWAV)
		}
		id := string(ch[0:4])
		size := binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > maxFmtChunk {
				return nil, info, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadWAV, size)
			}
			buf := make([]byte, size+size&1)
			if _, err := io.ReadFull(r, buf); err != nil {
				return nil, info, fmt.Errorf("%w: fmt chunk: %w", ErrBadWAV, err)
			}
			var err error
			if info, err = parseFmt(buf[:size]); err != nil {
				return nil, info, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, info, fmt.Errorf("%w: data chunk before fmt chunk", ErrBadWAV)
			}
			return readData(r, size, info)
		default:
			// Skip LIST, fact, cue and anything else, with the pad byte.
			n := int64(size) + int64(size&1)
			if m, err := io.CopyN(io.Discard, r, n); err != nil {
				return nil, info, fmt.Errorf("%w: chunk %q cut short after %d of %d bytes", ErrBadWAV, id, m, n)
			}
		}
	}
}

// parseFmt decodes a fmt chunk body.
func parseFmt(b []byte) (WAVInfo, error) {
	le := binary.LittleEndian
	tag := le.Uint16(b[0:2])
	info := WAVInfo{
		Channels:      int(le.Uint16(b[2:4])),
		SampleRate:    int(le.Uint32(b[4:8])),
		BitsPerSample: int(le.Uint16(b[14:16])),
	}
	blockAlign := int(le.Uint16(b[12:14]))
	if tag == wavFormatExtensible {
		// cbSize(2) validBits(2) channelMask(4) subFormat GUID(16): the GUID
		// starts with the plain format tag.
		if len(b) < 40 {
			return info, fmt.Errorf("%w: extensible fmt chunk of %d bytes", ErrBadWAV, len(b))
		}
		tag = le.Uint16(b[24:26])
	}
	switch {
	case tag != wavFormatPCM:
		return info, fmt.Errorf("%w: format tag %#x, want PCM (1)", ErrUnsupportedWAV, tag)
	case info.BitsPerSample != 16:
		return info, fmt.Errorf("%w: %d bits per sample, want 16", ErrUnsupportedWAV, info.BitsPerSample)
	case info.Channels < 1 || info.Channels > maxWAVChannels:
		return info, fmt.Errorf("%w: %d channels", ErrBadWAV, info.Channels)
	case info.SampleRate < 1 || info.SampleRate > maxWAVRate:
		return info, fmt.Errorf("%w: sample rate %d", ErrBadWAV, info.SampleRate)
	case blockAlign != 2*info.Channels:
		return info, fmt.Errorf("%w: block align %d for %d channels", ErrBadWAV, blockAlign, info.Channels)
	}
	return info, nil
}

// readData reads a data chunk of the declared size (0 or 0xFFFFFFFF: to EOF).
func readData(r io.Reader, size uint32, info WAVInfo) ([]int16, WAVInfo, error) {
	toEOF := size == 0 || size == 0xFFFFFFFF
	limit := int64(MaxWAVData) + 1
	if !toEOF {
		limit = min(limit, int64(size))
	}
	// io.ReadAll grows its buffer as data arrives, so a huge declared size
	// costs nothing unless the bytes are really there.
	data, err := io.ReadAll(io.LimitReader(r, limit))
	if err != nil {
		return nil, info, fmt.Errorf("%w: data chunk: %w", ErrBadWAV, err)
	}
	if len(data) > MaxWAVData {
		return nil, info, fmt.Errorf("%w: more than %d bytes of samples", ErrWAVTooLarge, MaxWAVData)
	}
	if !toEOF && int64(len(data)) < int64(size) {
		info.Truncated = true
	}
	block := 2 * info.Channels
	data = data[:len(data)-len(data)%block] // drop a partial sample frame
	samples := make([]int16, len(data)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(data[2*i:]))
	}
	return samples, info, nil
}

// LoadWAV reads the WAV file at path and converts it to format f.
func LoadWAV(path string, f Format) ([]int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	samples, info, err := ReadWAV(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	out, err := ConvertPCM(samples, info.SampleRate, info.Channels, f)
	if err != nil {
		return nil, fmt.Errorf("convert %s: %w", path, err)
	}
	return out, nil
}

// ConvertPCM converts interleaved samples at rate hertz with chans channels to
// format f: it mixes down to mono by averaging, copies mono to every channel,
// and resamples each channel. Other channel changes return an error wrapping
// ErrUnsupportedWAV. The input is never modified.
func ConvertPCM(samples []int16, rate, chans int, f Format) ([]int16, error) {
	outChans := max(f.Channels, 1)
	if chans < 1 || rate < 1 || f.SampleRate < 1 {
		return nil, fmt.Errorf("%w: %d channels at %d Hz to %d Hz", ErrUnsupportedWAV, chans, rate, f.SampleRate)
	}
	frames := len(samples) / chans
	// Channel layout first, to resample as few channels as possible.
	var mono []int16
	switch {
	case chans == outChans:
	case outChans == 1:
		mono = make([]int16, frames)
		for i := range mono {
			var sum int
			for c := range chans {
				sum += int(samples[i*chans+c])
			}
			mono[i] = int16(sum / chans)
		}
		samples, chans = mono, 1
	case chans == 1:
		// Upmix after resampling.
	default:
		return nil, fmt.Errorf("%w: cannot map %d channels to %d", ErrUnsupportedWAV, chans, outChans)
	}
	if rate != f.SampleRate {
		var out []int16
		for c := range chans {
			ch := make([]int16, frames)
			for i := range ch {
				ch[i] = samples[i*chans+c]
			}
			ch = NewResampler(rate, f.SampleRate).Process(nil, ch)
			if out == nil {
				out = make([]int16, len(ch)*chans)
			}
			for i := range min(len(ch), len(out)/chans) {
				out[i*chans+c] = ch[i]
			}
		}
		samples = out
	} else if mono == nil && chans == outChans {
		samples = append([]int16(nil), samples...)
	}
	if chans == 1 && outChans > 1 {
		up := make([]int16, len(samples)*outChans)
		for i, s := range samples {
			for c := range outChans {
				up[i*outChans+c] = s
			}
		}
		samples = up
	}
	return samples, nil
}

// appendWAVHeader appends a 44-byte canonical PCM header for dataBytes of
// samples in format f.
func appendWAVHeader(b []byte, f Format, dataBytes uint32) []byte {
	chans := max(f.Channels, 1)
	le := binary.LittleEndian
	b = append(b, "RIFF"...)
	b = le.AppendUint32(b, 36+dataBytes)
	b = append(b, "WAVEfmt "...)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, wavFormatPCM)
	b = le.AppendUint16(b, uint16(chans))
	b = le.AppendUint32(b, uint32(f.SampleRate))
	b = le.AppendUint32(b, uint32(f.SampleRate*chans*2))
	b = le.AppendUint16(b, uint16(chans*2))
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	return le.AppendUint32(b, dataBytes)
}

// appendSamples appends samples as little-endian 16-bit PCM.
func appendSamples(b []byte, samples []int16) []byte {
	for _, s := range samples {
		b = binary.LittleEndian.AppendUint16(b, uint16(s))
	}
	return b
}

// WriteWAV writes samples (interleaved, format f) as a complete WAV file.
func WriteWAV(w io.Writer, f Format, samples []int16) error {
	if 2*len(samples) > MaxWAVData {
		return ErrWAVTooLarge
	}
	b := appendWAVHeader(make([]byte, 0, wavHeaderSize+2*len(samples)), f, uint32(2*len(samples)))
	_, err := w.Write(appendSamples(b, samples))
	return err
}

// WAVHeaderInterval is how much audio a WAVWriter writes between header
// fix-ups: after a crash the file is a valid WAV holding all but at most
// this much of the recording.
const WAVHeaderInterval = 1 // seconds

// WAVWriter is a Sink that records to a WAV file. The header is rewritten
// every WAVHeaderInterval seconds of audio and on Close, so a crash leaves a
// playable file. WriteFrame does not allocate once its buffer has grown to
// the frame size. It is safe for concurrent use.
type WAVWriter struct {
	mu        sync.Mutex
	file      *os.File
	format    Format
	dataBytes uint32
	unfixed   int // samples written since the last header fix-up
	buf       []byte
	hdr       []byte
	err       error // first write error; sticky
	closed    bool
}

// NewWAVWriter creates (or truncates) the file at path and writes a header
// for format f.
func NewWAVWriter(path string, f Format) (*WAVWriter, error) {
	if f.SampleRate < 1 {
		return nil, fmt.Errorf("wav writer %s: sample rate %d", path, f.SampleRate)
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	w := &WAVWriter{file: file, format: f, hdr: make([]byte, 0, wavHeaderSize)}
	if _, err := file.Write(appendWAVHeader(w.hdr[:0], f, 0)); err != nil {
		file.Close()
		return nil, fmt.Errorf("wav writer %s: %w", path, err)
	}
	return w, nil
}

// Path returns the file name the writer records to.
func (w *WAVWriter) Path() string { return w.file.Name() }

// WriteFrame appends src to the recording. After a write error every later
// call returns that error; beyond MaxWAVData it returns ErrWAVTooLarge.
func (w *WAVWriter) WriteFrame(src []int16) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.closed:
		return ErrClosed
	case w.err != nil:
		return w.err
	case int64(w.dataBytes)+2*int64(len(src)) > MaxWAVData:
		return ErrWAVTooLarge
	}
	w.buf = appendSamples(w.buf[:0], src)
	if _, err := w.file.Write(w.buf); err != nil {
		w.err = fmt.Errorf("wav writer %s: %w", w.file.Name(), err)
		return w.err
	}
	w.dataBytes += uint32(len(w.buf))
	w.unfixed += len(src)
	if w.unfixed >= WAVHeaderInterval*w.format.SampleRate*max(w.format.Channels, 1) {
		return w.fixHeaderLocked()
	}
	return nil
}

// fixHeaderLocked rewrites the header for the bytes written so far.
// w.mu must be held.
func (w *WAVWriter) fixHeaderLocked() error {
	w.unfixed = 0
	w.hdr = appendWAVHeader(w.hdr[:0], w.format, w.dataBytes)
	if _, err := w.file.WriteAt(w.hdr, 0); err != nil {
		w.err = fmt.Errorf("wav writer %s: header: %w", w.file.Name(), err)
		return w.err
	}
	return nil
}

// Close fixes up the header and closes the file. A second Close returns nil.
func (w *WAVWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	var errFix error
	if w.err == nil {
		errFix = w.fixHeaderLocked()
	}
	return errors.Join(errFix, w.file.Close())
}

var _ Sink = (*WAVWriter)(nil)
