#!/bin/sh
# blink2mqtt add-on entrypoint. Turns the add-on options (/data/options.json)
# into blink2mqtt's environment, takes the broker from Home Assistant's MQTT
# service when mqtt_url is empty, and runs the bridge with its web page on
# the ingress port. Passwords stay out of every line it prints.
set -eu

OPTIONS="${OPTIONS:-/data/options.json}"
BLINK2MQTT="${BLINK2MQTT:-/usr/bin/blink2mqtt}"
SUPERVISOR="${SUPERVISOR:-http://supervisor}"
# The port of config.yaml's ingress_port.
INGRESS_PORT=8099

# The options the add-on offers (config.yaml's schema); each becomes the
# variable of the same name in upper case. Nothing else is read.
KEYS="mqtt_url mqtt_username mqtt_password mqtt_topic mqtt_ca_file mqtt_cert_file mqtt_key_file
ha_discovery ha_discovery_prefix poll_interval media_poll_interval motion_hold command_spacing
media_dir media_retention media_max_bytes local_storage local_storage_interval
rtsp_listen rtsp_username rtsp_password liveview_idle http_password log_level"

say() { printf 'blink2mqtt add-on: %s\n' "$*" >&2; }

if [ ! -r "$OPTIONS" ]; then
  say "cannot read $OPTIONS; starting with the defaults"
  OPTIONS=/dev/null
fi

for key in $KEYS; do
  # false and 0 are values; only a missing option or "" is left unset.
  value=$(jq -r --arg k "$key" 'if .[$k] == null then "" else .[$k] | tostring end' "$OPTIONS" 2>/dev/null || true)
  if [ -n "$value" ]; then
    export "$(printf '%s' "$key" | tr '[:lower:]' '[:upper:]')=$value"
  fi
done

# Home Assistant's broker (the Mosquitto add-on) unless mqtt_url is set.
if [ -z "${MQTT_URL:-}" ]; then
  if [ -z "${SUPERVISOR_TOKEN:-}" ]; then
    say "mqtt_url is empty and the Supervisor gave no token; set mqtt_url"
  elif service=$(curl -fsS --max-time 10 -H "Authorization: Bearer ${SUPERVISOR_TOKEN}" "${SUPERVISOR}/services/mqtt"); then
    host=$(printf '%s' "$service" | jq -r '.data.host // empty')
    port=$(printf '%s' "$service" | jq -r '.data.port // 1883')
    scheme=mqtt
    if [ "$(printf '%s' "$service" | jq -r '.data.ssl // false')" = "true" ]; then
      scheme=mqtts
    fi
    case "$host" in *:*) host="[$host]" ;; esac
    if [ -n "$host" ]; then
      export MQTT_URL="$scheme://$host:$port"
      if [ -z "${MQTT_USERNAME:-}" ]; then
        MQTT_USERNAME=$(printf '%s' "$service" | jq -r '.data.username // empty')
        MQTT_PASSWORD=$(printf '%s' "$service" | jq -r '.data.password // empty')
        export MQTT_USERNAME MQTT_PASSWORD
      fi
      say "using Home Assistant's MQTT broker at $MQTT_URL"
    else
      say "Home Assistant's MQTT service names no host; set mqtt_url"
    fi
  else
    say "no MQTT broker from Home Assistant (is the Mosquitto add-on installed?); set mqtt_url"
  fi
fi

export STATE_DIR=/data HTTP_LISTEN=":${INGRESS_PORT}" HTTP_INGRESS=true LOG_FORMAT=console
exec "$BLINK2MQTT" run
