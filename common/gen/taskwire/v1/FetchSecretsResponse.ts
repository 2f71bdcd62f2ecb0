// Original file: proto/taskwire/v1/result_service.proto


export interface FetchSecretsResponse {
  'secrets'?: ({[key: string]: string});
}

export interface FetchSecretsResponse__Output {
  'secrets': ({[key: string]: string});
}
