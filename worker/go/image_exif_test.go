package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"
	"testing"
)

// withOrientation inserts an APP1 Exif segment with one Orientation entry after the JPEG's SOI.
func withOrientation(jpg []byte, o uint16, order binary.ByteOrder) []byte {
	tiff := make([]byte, 8+2+12+4)
	if order == binary.LittleEndian {
		copy(tiff, "II")
	} else {
		copy(tiff, "MM")
	}
	order.PutUint16(tiff[2:], 42)
	order.PutUint32(tiff[4:], 8)
	order.PutUint16(tiff[8:], 1)
	order.PutUint16(tiff[10:], 0x0112)
	order.PutUint16(tiff[12:], 3)
	order.PutUint32(tiff[14:], 1)
	order.PutUint16(tiff[18:], o)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, 0, 0}
	binary.BigEndian.PutUint16(app1[2:], uint16(len(seg)+2))
	out := append([]byte{0xFF, 0xD8}, app1...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func TestJPEGOrientationIsAppliedAtDecode(t *testing.T) {
	// 16x8: the left half black, the right half white.
	img := image.NewGray(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 8; x < 16; x++ {
			img.Pix[y*16+x] = 255
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	dark := func(r *raster, x, y int) bool { return at(r, x, y)[0] < 60 }
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		data := withOrientation(b.Bytes(), 6, order) // stored turned 90° anticlockwise: turn it clockwise
		if o := jpegOrientation(data); o != 6 {
			t.Fatalf("orientation %d, want 6", o)
		}
		r, _, err := decodeImage(data, 1e8)
		if err != nil {
			t.Fatal(err)
		}
		if r.w != 8 || r.h != 16 || !dark(r, 4, 2) || dark(r, 4, 13) {
			t.Errorf("orientation 6: %dx%d, top dark %v, bottom dark %v; want 8x16, the black half on top", r.w, r.h, dark(r, 4, 2), dark(r, 4, 13))
		}
	}
	for o, want := range map[uint16][2]int{1: {16, 8}, 2: {16, 8}, 3: {16, 8}, 8: {8, 16}} {
		r, _, err := decodeImage(withOrientation(b.Bytes(), o, binary.BigEndian), 1e8)
		if err != nil || r.w != want[0] || r.h != want[1] {
			t.Fatalf("orientation %d: %v %dx%d", o, err, r.w, r.h)
		}
		leftDark := dark(r, 1, 1)
		if (o == 1 && !leftDark) || ((o == 2 || o == 3) && leftDark) || (o == 8 && !dark(r, 4, 13)) {
			t.Errorf("orientation %d: the black half is in the wrong place", o)
		}
	}
	// No EXIF, a truncated segment, not a JPEG: as stored.
	for _, data := range [][]byte{b.Bytes(), withOrientation(b.Bytes(), 6, binary.BigEndian)[:20], []byte("junk")} {
		if o := jpegOrientation(data); o != 1 {
			t.Errorf("orientation %d of %d bytes, want 1", o, len(data))
		}
	}
}
