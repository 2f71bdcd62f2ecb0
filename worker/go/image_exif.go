package main

// EXIF orientation of a JPEG, applied once after decoding as sharp's
// autoOrient() and Pillow's exif_transpose() do, so a phone picture comes out
// upright before the chain runs. The standard library's decoder ignores
// EXIF; this reads only the Orientation tag (0x0112) of IFD0 in the APP1
// "Exif" segment and never fails: anything unreadable means "as stored".

import "encoding/binary"

// jpegOrientation is the EXIF orientation (1..8) of a JPEG; 1 when there is none.
func jpegOrientation(data []byte) int {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 1
	}
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return 1
		}
		marker := data[p+1]
		if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 || marker == 0xFF {
			p++ // no length (or fill byte)
			continue
		}
		if marker == 0xDA || marker == 0xD9 { // image data from here: no EXIF before it
			return 1
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return 1
		}
		seg := data[p+4 : p+2+n]
		if marker == 0xE1 && len(seg) >= 14 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 1
}

func tiffOrientation(t []byte) int {
	var order binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		order = binary.LittleEndian
	case "MM":
		order = binary.BigEndian
	default:
		return 1
	}
	ifd := int(order.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 1
	}
	count := int(order.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 1
		}
		if order.Uint16(t[e:]) == 0x0112 && order.Uint16(t[e+2:]) == 3 { // Orientation, SHORT
			if v := int(order.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

// orient turns a raster stored with EXIF orientation o upright.
func orient(r *raster, o int) *raster {
	switch o {
	case 2:
		return flip(r, "horizontal")
	case 3:
		return rotate(r, 180)
	case 4:
		return flip(r, "vertical")
	case 5: // transpose
		return flip(rotate(r, 90), "horizontal")
	case 6:
		return rotate(r, 90)
	case 7: // transverse
		return flip(rotate(r, 270), "horizontal")
	case 8:
		return rotate(r, 270)
	}
	return r
}
