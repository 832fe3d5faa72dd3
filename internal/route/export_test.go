package route

// GrantCases are the cases of TestHostGranted, for the admission policy's
// agreement test (package route_test).
var GrantCases = grantCases
