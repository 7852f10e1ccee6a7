package main

import (
	"context"
	"net/http"

	"github.com/rs/zerolog"

	"github.com/blink2mqtt/blink2mqtt/bridge"
	"github.com/blink2mqtt/blink2mqtt/web"
)

var _ web.LoginController = (*authFlow)(nil)

// newWebPage builds the status and login page served at "/" on
// HTTP_LISTEN; logins started there end with ctx (the daemon).
func newWebPage(ctx context.Context, cfg *Config, b *bridge.Bridge, auth *authFlow, log zerolog.Logger) http.Handler {
	access := "read-only (set HTTP_PASSWORD to log in there)"
	switch {
	case cfg.HTTPIngress && !cfg.HTTPPassword.IsZero():
		access = "login through Home Assistant's ingress or with HTTP_PASSWORD"
	case cfg.HTTPIngress:
		access = "login through Home Assistant's ingress; read-only otherwise"
	case !cfg.HTTPPassword.IsZero():
		access = "HTTP_PASSWORD needed to see it and to log in"
	}
	log.Info().Str("access", access).Msg("web page enabled on HTTP_LISTEN")
	return web.New(web.Options{
		Status: b, Thumbnails: b, Login: auth,
		Password: cfg.HTTPPassword, Ingress: cfg.HTTPIngress, Email: cfg.BlinkEmail,
		Context: ctx, Logger: log,
	})
}
