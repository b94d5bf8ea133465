// Where the dashboard calls and how: gRPC-Web (binary) to the admin service.

import { type Client, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AdminService } from "./gen/sensorpipe/v1/admin_pb";

export type Admin = Client<typeof AdminService>;

/**
 * The page's own origin (admin and Envoy both serve the page next to the API), unless the `api`
 * query parameter names another one (`?api=http://127.0.0.1:50052`): then the browser calls that
 * origin across CORS.
 */
export function apiBaseUrl(location: Location): string {
  const override = new URLSearchParams(location.search).get("api");
  return (override || location.origin).replace(/\/+$/, "");
}

export function createAdmin(baseUrl: string, interceptors: Interceptor[] = []): Admin {
  return createClient(AdminService, createGrpcWebTransport({ baseUrl, useBinaryFormat: true, interceptors }));
}
