# The bench's scenario policy, in the seed policy's form (policies/seed/*.rego): dropped next to
# policies/default/cellery.rego, it only adds a reason to `deny`, so data.cellery.io.reviews_allow
# is `permitted` unless it fires. The rule, one that all three authorizers in the bench express:
# in cell `reviews`, workload `reviews` takes only end-user tokens from the edge issuer with
# scope `read`. As an Istio AuthorizationPolicy (what the jwt_authn + RBAC configuration renders):
#   action: ALLOW
#   rules: [{ from: [{ source: { requestPrincipals: ["https://idp.bench.cellauth.local/*"] } }],
#             when: [{ key: "request.auth.claims[scope]", values: ["read"] }] }]
package cellery.io

deny contains "reviews/reviews takes only edge tokens with scope read" if {
	input.destination.cellName == "reviews"
	input.destination.workload == "reviews"
	not edge_read
}

edge_read if {
	input.authorizationContext.jwtContent.claims.iss == "https://idp.bench.cellauth.local"
	input.authorizationContext.jwtContent.claims.scope == "read"
}
