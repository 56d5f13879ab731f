//! The OpenAPI 3.0 description of what the shim serves, written by hand beside the routes it
//! describes (`GET /openapi.json`). Schemathesis runs against it (see the README).

use serde_json::{Value, json};

fn error_body() -> Value {
    json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
}

fn unavailable() -> Value {
    json!({
        "description": "Temporal (or the Calendly API) is unreachable; retry after the given seconds",
        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    })
}

fn request_id_param() -> Value {
    json!({"name": "X-Request-Id", "in": "header", "required": false,
           "schema": {"type": "string", "maxLength": 128}})
}

fn twilio_signature_param() -> Value {
    json!({"name": "X-Twilio-Signature", "in": "header", "required": true, "schema": {"type": "string"},
           "description": "base64 HMAC-SHA1 with the account's auth token over the URL Twilio requested (SHIM_PUBLIC_URL + path + query) and the sorted form parameters"})
}

fn html(description: &str) -> Value {
    json!({"description": description, "content": {"text/html": {"schema": {"type": "string"}}}})
}

pub fn document() -> Value {
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Booking engine webhook shim",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Receives scheduler and form webhooks and signed link clicks, and hands them to the booking workflows on Temporal. Every response carries X-Request-Id."
        },
        "paths": {
            "/healthz": {"get": {"summary": "liveness", "responses": {"200": {"description": "alive", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/readyz": {"get": {"summary": "readiness (Temporal answers)", "responses": {
                "200": {"description": "ready", "content": {"application/json": {"schema": {"type": "object"}}}},
                "503": {"description": "not ready", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "exposition text", "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
            "/openapi.json": {"get": {"summary": "this document", "responses": {"200": {"description": "OpenAPI", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
            "/open-houses/{id}/availability": {"get": {
                "summary": "seat counter of an open house's landing page, served from a cache refreshed every few seconds",
                "parameters": [
                    request_id_param(),
                    {"name": "id", "in": "path", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 200}}
                ],
                "responses": {
                    "200": {
                        "description": "seats left, waitlist length and capacity",
                        "headers": {"Cache-Control": {"schema": {"type": "string"}, "description": "public, max-age=<refresh interval in seconds>"}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SeatCounter"}}}
                    },
                    "400": error_body(),
                    "404": error_body(),
                    "503": unavailable()
                }
            }},
            "/webhooks/calendly": {"post": {
                "summary": "Calendly v2 webhook (invitee.created, invitee.canceled)",
                "parameters": [
                    request_id_param(),
                    {"name": "Calendly-Webhook-Signature", "in": "header", "required": true,
                     "schema": {"type": "string"}, "description": "t=<unix>,v1=<hex HMAC-SHA256 of t.body>"}
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CalendlyWebhook"}}}},
                "responses": {
                    "200": {"description": "handed to the booking", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    "202": {"description": "signed but unprocessable: kept as a dead letter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeadLettered"}}}},
                    "400": error_body(),
                    "401": error_body(),
                    "413": {"description": "body over the limit"},
                    "415": error_body(),
                    "503": unavailable()
                }
            }},
            "/webhooks/form": {"post": {
                "summary": "booking form submission",
                "security": [{"bearer": []}, {"standardWebhooks": []}],
                "parameters": [
                    request_id_param(),
                    {"name": "webhook-id", "in": "header", "required": false, "schema": {"type": "string"}},
                    {"name": "webhook-timestamp", "in": "header", "required": false, "schema": {"type": "string"}},
                    {"name": "webhook-signature", "in": "header", "required": false, "schema": {"type": "string"}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BookingForm"}}}},
                "responses": {
                    "202": {"description": "handed to the booking", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    "400": {"description": "invalid fields", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    "401": error_body(),
                    "413": {"description": "body over the limit"},
                    "415": error_body(),
                    "503": unavailable()
                }
            }},
            "/webhooks/acuity": {"post": {
                "summary": "Acuity Scheduling webhook (appointment.scheduled, .rescheduled, .canceled, .changed); the shim reads the appointment through Acuity's API",
                "security": [{"acuitySignature": []}],
                "parameters": [
                    request_id_param(),
                    {"name": "X-Acuity-Signature", "in": "header", "required": true, "schema": {"type": "string"},
                     "description": "base64 HMAC-SHA256 of the raw body with the account's API key"}
                ],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["action", "id"],
                    "properties": {
                        "action": {"type": "string", "enum": ["appointment.scheduled", "appointment.rescheduled", "appointment.canceled", "appointment.changed"]},
                        "id": {"type": "integer", "minimum": 1},
                        "calendarID": {"type": "integer", "minimum": 1},
                        "appointmentTypeID": {"type": "integer", "minimum": 1}
                    }
                }}}},
                "responses": {
                    "200": {"description": "handed to the booking acuity-<id>", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    "202": {"description": "signed, but the appointment cannot become a booking: kept as a dead letter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeadLettered"}}}},
                    "400": {"description": "signed, with invalid fields (kept as a dead letter)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    "401": error_body(),
                    "413": {"description": "body over the limit"},
                    "503": unavailable()
                }
            }},
            "/q/{token}": {"get": {
                "summary": "questionnaire link: records the visit, then redirects",
                "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {"303": {"description": "to the questionnaire"}, "404": error_body(), "503": unavailable()}
            }},
            "/b/{token}/confirm": {
                "get": {"summary": "confirm page", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
                        "responses": {"200": html("page with a confirm button"), "404": html("invalid or expired link")}},
                "post": {"summary": "confirm the tour", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
                         "responses": {"200": html("confirmed"), "404": html("invalid or expired link"), "409": html("the booking refused"), "503": unavailable()}}
            },
            "/b/{token}/cancel": {
                "get": {"summary": "cancel page", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
                        "responses": {"200": html("page with a cancel button"), "404": html("invalid or expired link")}},
                "post": {"summary": "cancel the tour", "parameters": [{"name": "token", "in": "path", "required": true, "schema": {"type": "string"}}],
                         "responses": {"200": html("cancelled"), "404": html("invalid or expired link"), "409": html("the booking refused"), "503": unavailable()}}
            },
            "/bookings/{id}/tour-complete": {"post": {
                "summary": "operator: the tour happened",
                "security": [{"bearer": []}],
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "responses": {
                    "202": {"description": "signalled", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    "400": {"description": "invalid id", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    "401": error_body(), "404": error_body(), "503": unavailable()
                }
            }},
            "/webhooks/twilio/status": {"post": {
                "summary": "Twilio: delivery report of a booking's text (the StatusCallback the SMS activity asks for)",
                "security": [{"twilioSignature": []}],
                "parameters": [
                    request_id_param(),
                    twilio_signature_param(),
                    {"name": "booking_id", "in": "query", "required": true, "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"}},
                    {"name": "step", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1, "maxLength": 256}}
                ],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/TwilioStatus"}}}},
                "responses": {
                    "200": {"description": "signalled to the booking (outcome recorded), or about a booking that does not exist or has closed, which changes nothing (outcome booking_not_found / booking_closed)",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}}},
                    "400": {"description": "signed, but a parameter is missing or malformed (each named); kept as a dead letter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    "401": error_body(),
                    "413": {"description": "body over the limit"},
                    "503": unavailable()
                }
            }},
            "/webhooks/twilio/inbound": {"post": {
                "summary": "Twilio: a lead's text reply. STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT turn texts off on every running booking of the number; C, Y, YES, CONFIRM confirm and X cancels the newest; anything else, or a number with no running booking, becomes a dead letter",
                "security": [{"twilioSignature": []}],
                "parameters": [request_id_param(), twilio_signature_param()],
                "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/TwilioInbound"}}}},
                "responses": {
                    "200": {"description": "taken, whatever it did (a change the booking refuses included); empty TwiML, so nothing is texted back", "content": {"text/xml": {"schema": {"type": "string"}}}},
                    "400": {"description": "signed, but MessageSid or From is missing or malformed (each named); kept as a dead letter", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}},
                    "401": error_body(),
                    "413": {"description": "body over the limit"},
                    "503": unavailable()
                }
            }}
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "standardWebhooks": {"type": "apiKey", "in": "header", "name": "webhook-signature"},
                "acuitySignature": {"type": "apiKey", "in": "header", "name": "X-Acuity-Signature",
                                    "description": "base64 HMAC-SHA256 of the raw body with the Acuity API key"},
                "twilioSignature": {"type": "apiKey", "in": "header", "name": "X-Twilio-Signature",
                    "description": "base64 HMAC-SHA1 with the account's auth token over the full URL (SHIM_PUBLIC_URL + path + query) and the sorted form parameters"}
            },
            "schemas": {
                "Error": {"type": "object", "properties": {"error": {"type": "string"}}},
                "SeatCounter": {"type": "object", "required": ["seats_left", "waitlist_length", "capacity"], "properties": {
                    "seats_left": {"type": "integer", "minimum": 0},
                    "waitlist_length": {"type": "integer", "minimum": 0},
                    "capacity": {"type": "integer", "minimum": 0}}},
                "Accepted": {"type": "object", "required": ["status", "bookingId"], "properties": {
                    "status": {"type": "string"}, "bookingId": {"type": "string"}, "outcome": {"type": "string"},
                    "warnings": {"type": "array", "description": "fields that were wrong without stopping the booking (a phone number that does not parse turns texts off)", "items": {
                        "type": "object", "required": ["field", "message"], "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}},
                "TwilioStatus": {"type": "object", "required": ["MessageSid", "MessageStatus"], "properties": {
                    "MessageSid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "MessageStatus": {"type": "string", "pattern": "^[A-Za-z0-9_]{1,32}$"},
                    "ErrorCode": {"type": "string", "pattern": "^[0-9]*$", "description": "Twilio's error code of an undelivered or failed message"},
                    "AccountSid": {"type": "string"}, "From": {"type": "string"}, "To": {"type": "string"}}},
                "TwilioInbound": {"type": "object", "required": ["MessageSid", "From"], "properties": {
                    "MessageSid": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}, "From": {"type": "string", "description": "E.164"}, "To": {"type": "string"},
                    "Body": {"type": "string"}, "AccountSid": {"type": "string"}}},
                "DeadLettered": {"type": "object", "required": ["status", "deadLetterId"], "properties": {
                    "status": {"type": "string"}, "deadLetterId": {"type": "string"}}},
                "ValidationErrors": {"type": "object", "required": ["errors"], "properties": {"errors": {"type": "array", "items": {
                    "type": "object", "required": ["field", "message"], "properties": {"field": {"type": "string"}, "message": {"type": "string"}}}}}},
                "CalendlyWebhook": {"type": "object", "required": ["event", "payload"], "properties": {
                    "event": {"type": "string", "enum": ["invitee.created", "invitee.canceled"]},
                    "created_at": {"type": "string"},
                    "payload": {"type": "object", "required": ["uri", "email", "scheduled_event"], "properties": {
                        "uri": {"type": "string"}, "email": {"type": "string"}, "name": {"type": "string"},
                        "rescheduled": {"type": "boolean"},
                        "old_invitee": {"type": "string", "nullable": true},
                        "new_invitee": {"type": "string", "nullable": true},
                        "scheduled_event": {"type": "object", "required": ["start_time", "end_time"], "properties": {
                            "start_time": {"type": "string", "format": "date-time"},
                            "end_time": {"type": "string", "format": "date-time"}}}}}}},
                "BookingForm": {"type": "object", "required": ["submission_id", "kind", "lead", "property_id", "agent_id", "start", "end"], "properties": {
                    "submission_id": {"type": "string", "minLength": 1, "pattern": "^[A-Za-z0-9_-]{1,95}$"},
                    "booking_id": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,100}$"},
                    "kind": {"type": "string", "enum": ["private_viewing", "open_house"]},
                    "lead": {"type": "object", "required": ["email", "name"], "properties": {
                        "email": {"type": "string", "format": "email"}, "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*\\S[^\\u0000-\\u001f\\u007f-\\u009f]*$"}, "phone": {"type": "string", "maxLength": 40, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}}},
                    "property_id": {"type": "string", "pattern": "^[A-Za-z0-9._:@+-]{1,128}$"},
                    "agent_id": {"type": "string", "pattern": "^[A-Za-z0-9._:@+-]{1,128}$"},
                    "start": {"type": "string", "format": "date-time", "description": "local time with its UTC offset; must be in the future (not expressible in the schema)"},
                    "end": {"type": "string", "format": "date-time", "description": "after start, at most 24 hours later"},
                    "timezone": {"type": "string", "maxLength": 64, "description": "IANA zone name"}}}
            }
        }
    })
}
