package discovery

// The fixtures and the schema check, for the tests in package discovery_test
// (those that use internal/hatest, which imports discovery).
var (
	FixtureOptions    = testOptions
	FixtureAccount    = defaultAccount
	FixtureBigAccount = bigAccount
	FixtureExtras     = testExtras
)

// SchemaErrors is the schema check of msgs published under opts' prefix.
func SchemaErrors(opts Options, msgs []Message) []error { return checkAll(opts.prefix(), msgs) }
