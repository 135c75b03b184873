// Every local reply the filter can send, encoded once per configure: the denial path then
// costs one host call and no string building.
import { Pair, serializePairs, sendEncodedResponse } from "../host/headers";
import { Status, statusCount, statusCode, statusDetails, statusError, responseBody, wwwAuthenticate } from "../jwt/status";

export class Replies {
  private details: ArrayBuffer[] = [];
  private bodies: ArrayBuffer[] = [];
  private headers: ArrayBuffer[] = [];

  constructor(realm: string) {
    for (let i = 0; i < statusCount(); i++) {
      const s = <Status>i;
      const h = new Array<Pair>();
      h.push(new Pair("content-type", "application/json"));
      // RFC 6750: a challenge on every 401, and on a 403 that is about the token itself.
      if (statusCode(s) == 401 || statusError(s).length > 0) h.push(new Pair("www-authenticate", wwwAuthenticate(s, realm)));
      this.details.push(String.UTF8.encode(statusDetails(s)));
      this.bodies.push(String.UTF8.encode(responseBody(s)));
      this.headers.push(serializePairs(h));
    }
  }

  send(s: Status): void {
    const i = <i32>s;
    sendEncodedResponse(statusCode(s), unchecked(this.details[i]), unchecked(this.bodies[i]), unchecked(this.headers[i]));
  }
}
