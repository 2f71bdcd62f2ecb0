// Original file: proto/taskwire/v1/cluster.proto


export interface WorkerCounts {
  'online'?: (number);
  'idle'?: (number);
  'busy'?: (number);
  'draining'?: (number);
  'offline'?: (number);
}

export interface WorkerCounts__Output {
  'online': (number);
  'idle': (number);
  'busy': (number);
  'draining': (number);
  'offline': (number);
}
