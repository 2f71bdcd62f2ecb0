package main

// proto3 JSON on MQTT (PROTOCOL.md section 3): protojson with the original
// field names for senders; DiscardUnknown for receivers (which also accepts
// lowerCamelCase, integers as strings, enums by number and null). On top:
// size limits, UTF-8 and 64 levels of nesting.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

const maxDepth = 64

var (
	encoder = protojson.MarshalOptions{UseProtoNames: true}
	decoder = protojson.UnmarshalOptions{DiscardUnknown: true}
)

func encode(m proto.Message) []byte {
	b, err := encoder.Marshal(m)
	if err != nil {
		panic(err) // only for messages this worker builds itself
	}
	// protojson adds random spaces on purpose; compact it for the wire.
	var out bytes.Buffer
	if json.Compact(&out, b) == nil {
		return out.Bytes()
	}
	return b
}

func depthOK(b []byte) bool {
	depth, inString, escaped := 0, false, false
	for _, c := range b {
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{' || c == '[':
			depth++
			if depth > maxDepth {
				return false
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return true
}

func decode(payload []byte, m proto.Message, maxBytes int) error {
	if len(payload) > maxBytes {
		return fmt.Errorf("%d bytes, more than %d", len(payload), maxBytes)
	}
	if !utf8.Valid(payload) {
		return errors.New("not UTF-8")
	}
	trimmed := bytes.TrimSpace(payload)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("payload is not a JSON object")
	}
	if !depthOK(trimmed) {
		return fmt.Errorf("JSON nested deeper than %d levels", maxDepth)
	}
	return decoder.Unmarshal(trimmed, m)
}
