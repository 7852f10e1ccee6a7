package blinkfake_test

import (
	"fmt"
	"net/http"

	"github.com/blink2mqtt/blink2mqtt/blink/blinkfake"
)

// A fake without a testing.TB (as in demo mode), a token without the login
// dance, an injected 503 and the request count.
func Example() {
	srv, err := blinkfake.Start(blinkfake.Config{})
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	access, _, _ := srv.IssueTokens()
	srv.Inject(blinkfake.Fault{Endpoint: blinkfake.EpHomescreen, Status: http.StatusServiceUnavailable})

	url := fmt.Sprintf("%s/api/v3/accounts/%d/homescreen", srv.RESTBase(srv.Config().Tier), srv.AccountID())
	for range 2 {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+access)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		res.Body.Close()
		fmt.Println(res.StatusCode)
	}
	fmt.Println(srv.Count(blinkfake.EpHomescreen), "homescreen requests")
	// Output:
	// 503
	// 200
	// 2 homescreen requests
}
