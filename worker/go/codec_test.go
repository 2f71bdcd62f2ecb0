package main

import (
	"strings"
	"testing"

	pb "taskwire/taskwire-worker/gen/taskwirev1"
)

func TestEncodeWritesProto3JSONAsSendersMust(t *testing.T) {
	s := &pb.WorkerStatus{WorkerId: "w1", State: pb.WorkerState_WORKER_STATE_ONLINE, Kinds: []string{"echo"}, Capacity: 2, StartedAtMs: 1795482064785}
	got := string(encode(s))
	want := `{"worker_id":"w1","state":"WORKER_STATE_ONLINE","kinds":["echo"],"capacity":2,"started_at_ms":"1795482064785"}`
	if got != want {
		t.Fatalf("encode:\n got %s\nwant %s", got, want)
	}
}

func TestDecodeIsLenient(t *testing.T) {
	var a pb.Assignments
	err := decode([]byte(`{"tasks":[{"taskId":"t","attempt":"2","kind":"echo","resultToken":"k","new_field":1}]}`), &a, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tasks) != 1 || a.Tasks[0].TaskId != "t" || a.Tasks[0].Attempt != 2 || a.Tasks[0].ResultToken != "k" {
		t.Fatalf("decoded %v", &a)
	}
}

func TestDecodeRefusesWhatItMust(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 70) + "1" + strings.Repeat("}", 70)
	for name, payload := range map[string]string{
		"not an object": `[1]`,
		"empty":         `  `,
		"not UTF-8":     "{\"a\":\"\xff\"}",
		"too deep":      deep,
		"too big":       `{"tasks":[]}` + strings.Repeat(" ", 100),
		"wrong type":    `{"tasks":"x"}`,
	} {
		var a pb.Assignments
		if err := decode([]byte(payload), &a, 64); err == nil {
			t.Errorf("%s: decoded without error", name)
		}
	}
}
