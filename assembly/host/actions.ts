// What a stream callback tells the host to do with the request (proxy-wasm FilterHeadersStatus /
// FilterDataStatus). Low in the layers, so that whatever decides a request (filter/, authz/) can
// return them without importing the stream.
export const CONTINUE: i32 = 0;
export const STOP: i32 = 1;
// Holds headers *and* body until we resume: a body must not slip past a pending decision.
export const STOP_ALL: i32 = 4;
