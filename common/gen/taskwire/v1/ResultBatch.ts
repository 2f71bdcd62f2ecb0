// Original file: proto/taskwire/v1/result_service.proto

import type { ResultEvent as _taskwire_v1_ResultEvent, ResultEvent__Output as _taskwire_v1_ResultEvent__Output } from '../../taskwire/v1/ResultEvent.js';

export interface ResultBatch {
  'events'?: (_taskwire_v1_ResultEvent)[];
}

export interface ResultBatch__Output {
  'events': (_taskwire_v1_ResultEvent__Output)[];
}
