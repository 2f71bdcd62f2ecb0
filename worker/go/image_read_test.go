package main

import (
	"bytes"
	"encoding/hex"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"
)

// A 2x2 red lossless webp (written by sharp): the standard library has no webp encoder.
const tinyWebp = "524946461c000000574542505650384c0f0000002f014000000710fd8ffe0722a2ff0100"

// Every format the worker advertises as image:read:<format> is one decodeImage reads.
func TestReadFormatsAreDecoded(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 2, 2))
	for i := range src.Pix {
		src.Pix[i] = 200
	}
	samples := map[string][]byte{}
	var b bytes.Buffer
	_ = png.Encode(&b, src)
	samples["png"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	_ = jpeg.Encode(&b, src, nil)
	samples["jpeg"] = append([]byte(nil), b.Bytes()...)
	b.Reset()
	_ = gif.Encode(&b, image.NewPaletted(image.Rect(0, 0, 2, 2), color.Palette{color.Black, color.White}), nil)
	samples["gif"] = append([]byte(nil), b.Bytes()...)
	samples["webp"], _ = hex.DecodeString(tinyWebp)
	for _, f := range readFormats {
		data, ok := samples[f]
		if !ok {
			t.Fatalf("no sample of advertised read format %s", f)
		}
		r, format, err := decodeImage(data, 100)
		if err != nil || format != f || r.w != 2 || r.h != 2 {
			t.Fatalf("%s: decoded as %q %v (%v)", f, format, r, err)
		}
	}
}
