package main

// The diagnostic kinds every worker runs (PROTOCOL.md section 7.4). Inputs are
// strict: unknown keys and wrong types are BAD_INPUT.

import (
	"math"
	"regexp"
	"sort"
	"strings"
	"time"
)

type handler func(t *attempt, input interface{}) (interface{}, error)

var words = regexp.MustCompile(`\S+\s*|\s+`)

func badInput(msg string) error { return &taskFailure{"BAD_INPUT", "input" + msg, false} }

func object(input interface{}, allowed ...string) (map[string]interface{}, error) {
	m, ok := input.(map[string]interface{})
	if !ok {
		return nil, badInput(": expected an object")
	}
	var extra []string
	for k := range m {
		known := false
		for _, a := range allowed {
			known = known || k == a
		}
		if !known {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, badInput(": unknown key(s) " + strings.Join(extra, ", "))
	}
	return m, nil
}

func integer(v interface{}, name string, lo, hi float64) (int64, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || f < lo || f > hi {
		return 0, badInput("." + name + ": expected an integer in range")
	}
	return int64(f), nil
}

func echoHandler(t *attempt, input interface{}) (interface{}, error) {
	m, err := object(input, "text", "delay_ms")
	if err != nil {
		return nil, err
	}
	text, ok := m["text"].(string)
	if !ok {
		return nil, badInput(".text: expected a string")
	}
	if len([]rune(text)) > 1024*1024 {
		return nil, badInput(".text: too long")
	}
	var delay int64
	if d, has := m["delay_ms"]; has {
		if delay, err = integer(d, "delay_ms", 0, 10000); err != nil {
			return nil, err
		}
	}
	for i, w := range words.FindAllString(text, -1) {
		if i > 0 && delay > 0 {
			if err := t.wait(time.Duration(delay) * time.Millisecond); err != nil {
				return nil, err
			}
		}
		if err := t.emit(w); err != nil {
			return nil, err
		}
	}
	return map[string]interface{}{"text": text}, nil
}

func sleepHandler(t *attempt, input interface{}) (interface{}, error) {
	m, err := object(input, "ms")
	if err != nil {
		return nil, err
	}
	v, has := m["ms"]
	if !has {
		return nil, badInput(".ms: required")
	}
	ms, err := integer(v, "ms", 0, 86400000)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	if err := t.wait(time.Duration(ms) * time.Millisecond); err != nil {
		return nil, err
	}
	return map[string]interface{}{"slept_ms": time.Since(start).Milliseconds()}, nil
}
