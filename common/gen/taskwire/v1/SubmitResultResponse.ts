// Original file: proto/taskwire/v1/result_service.proto

import type { Disposition as _taskwire_v1_Disposition, Disposition__Output as _taskwire_v1_Disposition__Output } from '../../taskwire/v1/Disposition.js';

export interface SubmitResultResponse {
  'disposition'?: (_taskwire_v1_Disposition);
  'reason'?: (string);
}

export interface SubmitResultResponse__Output {
  'disposition': (_taskwire_v1_Disposition__Output);
  'reason': (string);
}
