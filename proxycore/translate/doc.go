package translate

// Design notes for the translation layer (the facts come from docs/WIRE.md):
//
// Canonical hub. Every codec maps its format to package llm and back, so a client format reaches any
// upstream format through one decoder and one encoder. Request.SourceFormat lets an encoder of the same
// format re-emit fields the canonical form lacks (Request.Extra); other encoders drop them.
//
// Thinking signatures are opaque and vendor-bound. Encoders forward a signature only to the vendor in
// Thinking.SignatureFormat: Anthropic gets its own thinking/redacted_thinking blocks back byte-exact,
// Gemini its thoughtSignature on the same part, OpenAI Responses its encrypted_content. Thinking of any
// other origin is dropped, never forged. When a Claude or Responses client is served by another vendor,
// the foreign signature is handed to the client as "cliproxy:<format>:<signature>" so that it can travel
// back to its issuer on the next turn; the prefix is recognised and stripped on decode.
//
// Anthropic with thinking on requires the last assistant turn of a tool loop to start with a signed
// thinking block, and rejects forced tool choice; in both cases the Claude encoder turns thinking off for
// that request rather than fail. Temperature and top_k are not sent with thinking on; temperature is
// clamped to Anthropic's 0-1 range.
//
// Gemini 3 rejects replayed functionCall parts without a thoughtSignature; when a model turn has no real
// signature the first call gets "skip_thought_signature_validator" (WIRE.md §4.3, unverified). Gemini
// function-call ids are synthesised when absent and results are paired with calls by name and order;
// Gemini needs the function name on each result, recovered from the earlier call. Tool schemas are
// rewritten into Gemini's Schema subset (schema.go) unless the client was Gemini and used
// parametersJsonSchema.
//
// Tool names longer than OpenAI's 64 characters (common for MCP tools) are shortened deterministically
// for Chat and Responses upstreams (toolnames.go) and restored by every stream encoder from the client's
// request; non-streaming callers use RestoreToolNames. Responses namespace tools are flattened to
// "<namespace>__<name>" for other vendors and split back for Responses clients.
//
// Reasoning effort <-> budget is the table in reasoning.go; Anthropic's required max_tokens defaults to
// 8192, or budget + 8192 with thinking, and the budget is kept below max_tokens.
//
// Features a target cannot express give a 400 naming them: audio or non-PDF files or non-jpeg/png/gif/
// webp images for Anthropic, non-data image URLs for Gemini (except Files API URIs), stop sequences and
// n > 1 for Responses, n > 1 for Anthropic, previous_response_id/conversation/item_reference outside
// OpenAI Responses, tools or media for legacy completions. Hosted tools (web_search, googleSearch, ...)
// of one vendor are dropped for the others; non-text tool-result content becomes a marker for Chat.
//
// Streams are translated event by event. Decoders return an *llm.Error for in-stream upstream errors and
// End returns one when no terminal event arrived; encoders then write Fail, which never resembles a
// normal finish. The hot delta events are decoded without reflection (jsonscan.go) and encoded with
// append-style writers, so a text delta costs about one allocation (its string).
