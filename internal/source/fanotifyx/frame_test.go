package fanotifyx

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestFrames(t *testing.T) {
	var buf bytes.Buffer
	buf.Write(Frame([]byte("hello")))
	buf.Write(Frame(EncodeVerdict(9, 26)))
	buf.Write(Frame(make([]byte, 11)))
	buf.Write([]byte{3, 0, 0, 0, 'x'})
	r := bufio.NewReader(&buf)
	if m, err := ReadFrame(r, nil, 16); err != nil || string(m) != "hello" {
		t.Fatalf("ReadFrame = %q, %v", m, err)
	}
	m, err := ReadFrame(r, nil, 16)
	if err != nil {
		t.Fatal(err)
	}
	if id, errno, err := DecodeVerdict(m); id != 9 || errno != 26 || err != nil {
		t.Errorf("DecodeVerdict = %d, %d, %v", id, errno, err)
	}
	if _, err := ReadFrame(r, nil, 10); !errors.Is(err, ErrFrame) {
		t.Errorf("a frame over the bound: %v", err)
	}
	r = bufio.NewReader(bytes.NewReader([]byte{3, 0, 0, 0, 'x'}))
	if _, err := ReadFrame(r, nil, 16); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a cut frame: %v", err)
	}
	if _, _, err := DecodeVerdict([]byte("hello, world!")); !errors.Is(err, ErrFrame) {
		t.Errorf("DecodeVerdict of another message: %v", err)
	}
}
