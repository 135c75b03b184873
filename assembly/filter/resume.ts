import { proxy_continue_stream } from "../host/sdk";

export function continue_request(): void { proxy_continue_stream(0); }
