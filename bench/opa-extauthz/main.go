// opa-extauthz: OPA behind Envoy's ext_authz gRPC API, the way Istio users run OPA today
// (opa-envoy-plugin, wired as an AuthorizationPolicy CUSTOM action), rebuilt for the bench from
// its published parts because the plugin's own module is not served here: Envoy's protos
// (go-control-plane, envoy.service.auth.v3.Authorization) and OPA's Go library (v1/rego).
//
// Per Check: the CheckRequest becomes the plugin's input document (the request's attributes by
// their protobuf JSON names, `parsed_path`, `parsed_query`, `parsed_body`, `truncated_body`,
// `version`), the prepared query is evaluated on it, and the answer is an OK or a 403. So that the
// SAME Rego as the STS's OPA decides (policies/default/cellery.rego + the bench scenario), the
// input also carries Cellery's fields, mapped from the check request: destination (this sidecar's
// cell and workload, as the STS knows them), source.principal (the mTLS peer Envoy saw),
// requestContext (method, path, host) and authorizationContext.jwtContent.claims (the payload
// jwt_authn verified and forwarded as dynamic metadata).
//
//	opa-extauthz -addr 127.0.0.1:0 -policy policies/default -policy bench/policy \
//	  -query data.cellery.io.reviews_allow -cell reviews -workload reviews
//
// Prints "listening on 127.0.0.1:<port>" once it serves. Binds to loopback only.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/structpb"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

// The namespace jwt_authn writes its verified payload under (payload_in_metadata).
const jwtNamespace = "envoy.filters.http.jwt_authn"

type server struct {
	authv3.UnimplementedAuthorizationServer
	query       rego.PreparedEvalQuery
	payloadKey  string
	version     map[string]any
	destination map[string]any
}

func main() {
	var policies multi
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback only)")
	flag.Var(&policies, "policy", "a .rego file or a directory of them (repeatable)")
	query := flag.String("query", "data.cellery.io.reviews_allow", "the decision: a boolean")
	cell := flag.String("cell", "reviews", "this sidecar's cell (input.destination.cellName)")
	workload := flag.String("workload", "reviews", "this sidecar's workload (input.destination.workload)")
	payloadKey := flag.String("payload-key", "jwt_payload", "jwt_authn's payload_in_metadata key")
	flag.Parse()
	if len(policies) == 0 {
		fail(errors.New("at least one -policy is required"))
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		fail(err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		fail(fmt.Errorf("-addr %q: only a loopback address is allowed", *addr))
	}

	ctx := context.Background()
	pq, err := rego.New(rego.Query(*query), rego.Load(policies, nil)).PrepareForEval(ctx)
	if err != nil {
		fail(fmt.Errorf("preparing %s: %w", *query, err))
	}
	s := &server{
		query: pq, payloadKey: *payloadKey,
		version:     map[string]any{"ext_authz": "v3", "encoding": "protojson"},
		destination: map[string]any{"cellName": *cell, "workload": *workload, "isExternalToCellery": false},
	}

	lis, err := net.Listen("tcp", *addr)
	if err != nil {
		fail(err)
	}
	g := grpc.NewServer()
	authv3.RegisterAuthorizationServer(g, s)
	fmt.Printf("listening on %s\n", lis.Addr())
	go func() {
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
		<-sig
		g.Stop()
	}()
	if err := g.Serve(lis); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "opa-extauthz: %v\n", err)
	os.Exit(2)
}

// Check evaluates the policy on this request. Any error (bad input, undefined or non-boolean
// decision) denies, as opa-envoy-plugin does.
func (s *server) Check(ctx context.Context, req *authv3.CheckRequest) (*authv3.CheckResponse, error) {
	input, err := s.toInput(req)
	if err != nil {
		return deny(code.Code_PERMISSION_DENIED, err.Error()), nil
	}
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return deny(code.Code_PERMISSION_DENIED, err.Error()), nil
	}
	rs, err := s.query.Eval(ctx, rego.EvalParsedInput(v))
	if err != nil {
		return deny(code.Code_UNKNOWN, err.Error()), nil
	}
	if len(rs) == 1 && len(rs[0].Expressions) == 1 {
		if allow, ok := rs[0].Expressions[0].Value.(bool); ok && allow {
			return &authv3.CheckResponse{Status: &rpcstatus.Status{Code: int32(code.Code_OK)},
				HttpResponse: &authv3.CheckResponse_OkResponse{OkResponse: &authv3.OkHttpResponse{}}}, nil
		}
	}
	return deny(code.Code_PERMISSION_DENIED, "denied by policy"), nil
}

func deny(c code.Code, msg string) *authv3.CheckResponse {
	return &authv3.CheckResponse{
		Status: &rpcstatus.Status{Code: int32(c), Message: msg},
		HttpResponse: &authv3.CheckResponse_DeniedResponse{DeniedResponse: &authv3.DeniedHttpResponse{
			Status: &typev3.HttpStatus{Code: typev3.StatusCode_Forbidden},
		}},
	}
}

// toInput: opa-envoy-plugin's input document, then Cellery's fields beside it.
func (s *server) toInput(req *authv3.CheckRequest) (map[string]any, error) {
	input := protoMap(req.ProtoReflect())
	input["version"] = s.version
	h := req.GetAttributes().GetRequest().GetHttp()
	u, err := url.Parse(h.GetPath())
	if err != nil {
		return nil, err
	}
	segs := strings.Split(strings.TrimLeft(u.Path, "/"), "/")
	parsedPath := make([]any, len(segs))
	for i, p := range segs {
		parsedPath[i] = p
	}
	parsedQuery := map[string]any{}
	for k, vs := range u.Query() {
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		parsedQuery[k] = l
	}
	input["parsed_path"] = parsedPath
	input["parsed_query"] = parsedQuery
	body, truncated, err := parsedBody(h)
	if err != nil {
		return nil, err
	}
	input["parsed_body"] = body
	input["truncated_body"] = truncated

	// Cellery's view of the same request.
	claims := map[string]any{}
	if md := req.GetAttributes().GetMetadataContext().GetFilterMetadata()[jwtNamespace]; md != nil {
		if p := md.GetFields()[s.payloadKey].GetStructValue(); p != nil {
			claims = p.AsMap()
		}
	}
	input["source"] = map[string]any{"principal": req.GetAttributes().GetSource().GetPrincipal()}
	input["destination"] = s.destination
	input["requestContext"] = map[string]any{"host": h.GetHost(), "path": u.Path, "rawPath": u.Path, "query": u.RawQuery,
		"method": h.GetMethod(), "protocol": h.GetProtocol()}
	input["authorizationContext"] = map[string]any{"jwtContent": map[string]any{"claims": claims}}
	return input, nil
}

// parsedBody: a JSON body that Envoy sent whole is parsed; a cut one is reported truncated.
func parsedBody(h *authv3.AttributeContext_HttpRequest) (any, bool, error) {
	ct := h.GetHeaders()["content-type"]
	if !strings.Contains(ct, "application/json") || h.GetBody() == "" {
		return nil, false, nil
	}
	if cl, err := strconv.ParseInt(h.GetHeaders()["content-length"], 10, 64); err == nil && cl > int64(len(h.GetBody())) {
		return nil, true, nil
	}
	v, err := structpb.NewValue(nil)
	if err != nil {
		return nil, false, err
	}
	if err := v.UnmarshalJSON([]byte(h.GetBody())); err != nil {
		return nil, false, err
	}
	return v.AsInterface(), false, nil
}

// protoMap walks a message into maps keyed by the fields' JSON names (Struct values become
// their plain JSON form), the shape a policy reads as input.attributes.
func protoMap(m protoreflect.Message) map[string]any {
	if st, ok := m.Interface().(*structpb.Struct); ok {
		return st.AsMap()
	}
	out := make(map[string]any, m.Descriptor().Fields().Len())
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		out[fd.JSONName()] = fieldValue(fd, v)
		return true
	})
	return out
}

func fieldValue(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch {
	case fd.IsMap():
		mm := make(map[string]any, v.Map().Len())
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			if fd.MapValue().Kind() == protoreflect.MessageKind {
				mm[k.String()] = protoMap(mv.Message())
			} else {
				mm[k.String()] = scalar(fd.MapValue(), mv)
			}
			return true
		})
		return mm
	case fd.IsList():
		l := make([]any, v.List().Len())
		for i := range l {
			e := v.List().Get(i)
			if fd.Kind() == protoreflect.MessageKind {
				l[i] = protoMap(e.Message())
			} else {
				l[i] = scalar(fd, e)
			}
		}
		return l
	case fd.Kind() == protoreflect.MessageKind:
		return protoMap(v.Message())
	default:
		return scalar(fd, v)
	}
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) any {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return int64(v.Enum())
	case protoreflect.BytesKind:
		return string(v.Bytes())
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return v.Int()
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return v.Uint()
	case protoreflect.FloatKind:
		return v.Float()
	default:
		return v.Interface()
	}
}
