# The seed scenario from Cellery's docs: in cell `customer-products`, only the (non-existent)
# cell `NonExistingCell` may call `categories-service`, so every real caller is denied.
# Drop this file into the customer-products OPA's policy directory; `opa run --watch` reloads it.
package cellery.io

deny contains "only NonExistingCell may call customer-products/categories-service" if {
	input.destination.cellName == "customer-products"
	input.destination.workload == "categories-service"
	input.source.cellInstanceName != "NonExistingCell"
}
