package main

import (
	"strings"
	"testing"
)

func TestConfigDefaultsAndUsername(t *testing.T) {
	t.Setenv("TASKWIRE_WORKER_ID", "w-1")
	t.Setenv("TASKWIRE_MQTT_URL", "mqtt://127.0.0.1:1999")
	t.Setenv("TASKWIRE_CLUSTER_TOKEN", "secret")
	c, err := configFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.mqttHost != "127.0.0.1" || c.mqttPort != 1999 || c.mqttUsername != "w-1" || c.mqttPassword != "secret" {
		t.Fatalf("config %+v", c)
	}
	if c.capacity != 8 || c.topicRoot != "taskwire/v1" || c.grpcTarget != "" {
		t.Fatalf("defaults %+v", c)
	}
}

func TestConfigErrorsNameTheVariable(t *testing.T) {
	for variable, value := range map[string]string{
		"TASKWIRE_WORKER_CAPACITY": "0",
		"TASKWIRE_MQTT_URL":        "http://x",
		"TASKWIRE_GRPC_URL":        "nohost",
		"TASKWIRE_TOPIC_ROOT":      "a/#",
		"TASKWIRE_WORKER_ID":       "-bad",
		"TASKWIRE_LOG_LEVEL":       "loud",
	} {
		t.Run(variable, func(t *testing.T) {
			t.Setenv(variable, value)
			_, err := configFromEnv()
			if err == nil || !strings.HasPrefix(err.Error(), variable+": ") {
				t.Fatalf("%s=%s: error %v", variable, value, err)
			}
		})
	}
}
