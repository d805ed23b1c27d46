package proxytest

import "net/http"

func (u *Upstream) openAIResponses(w http.ResponseWriter, r *http.Request) {
	writeOpenAIError(w, http.StatusNotFound, "invalid_request_error", "not implemented", nil, nil)
}
