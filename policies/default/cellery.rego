# Default per-cell policy (Cellery's package and rule names, so existing Cellery policies keep
# working). The STS queries data.cellery.io.<workload with - and . as _>_allow.
#
# Each demo workload is allowed unless some loaded policy adds a reason to `deny`. A scenario
# policy (policies/seed/*.rego) is applied by dropping it next to this file: it only adds deny
# reasons, so it composes with the defaults instead of redefining the *_allow rules.
# A workload without a rule here is undefined for OPA, and the STS denies it (POLICY_UNDEFINED).
package cellery.io

# Reasons to deny this request; empty unless a scenario policy contributes one.
deny contains reason if {
	false
	reason := ""
}

default permitted := false

permitted if count(deny) == 0

# Demo workloads (sample services of the `reviews` and `customer-products` cells).
reviews_allow := permitted

reviews_service_allow := permitted

gateway_allow := permitted

customers_allow := permitted

customers_service_allow := permitted

products_allow := permitted

products_service_allow := permitted

categories_allow := permitted

categories_service_allow := permitted
