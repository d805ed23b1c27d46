package translate

import (
	"encoding/json"
	"fmt"
	"strings"
)

// geminiSchemaKeys are the fields of Gemini's Schema type (genai v1.77 Schema, WIRE.md §4.2); every
// other JSON Schema keyword is rejected by the API with "Cannot find field" and must be removed.
var geminiSchemaKeys = map[string]bool{"type": true, "format": true, "title": true, "description": true,
	"nullable": true, "enum": true, "items": true, "properties": true, "required": true, "propertyOrdering": true,
	"minItems": true, "maxItems": true, "minProperties": true, "maxProperties": true, "minLength": true,
	"maxLength": true, "pattern": true, "minimum": true, "maximum": true, "default": true, "example": true,
	"anyOf": true}

// maxSchemaDepth bounds $ref expansion and nesting so hostile schemas cannot loop forever.
const maxSchemaDepth = 32

// sanitizeGeminiSchema rewrites a JSON Schema into Gemini's Schema subset (WIRE.md §4.2): it drops
// unknown keywords ($schema, additionalProperties, ...), inlines local $refs, turns const into a
// one-value enum, type arrays into a single type plus nullable, oneOf into anyOf, exclusive bounds into
// inclusive ones, stringifies enum values and keeps only the string formats Gemini accepts. It returns
// nil for a schema with no parameters, so the declaration omits "parameters".
func sanitizeGeminiSchema(raw json.RawMessage) (json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var root map[string]any
	if err := json.Unmarshal(raw, &root); err != nil {
		return nil, fmt.Errorf("tool parameters must be a JSON Schema object: %w", err)
	}
	defs := map[string]any{}
	for _, k := range []string{"$defs", "definitions"} {
		if d, ok := root[k].(map[string]any); ok {
			for name, v := range d {
				defs["#/"+k+"/"+name] = v
			}
		}
	}
	out := cleanSchema(root, defs, 0)
	if props, ok := out["properties"].(map[string]any); !ok || len(props) == 0 {
		if t, _ := out["type"].(string); t == "object" || t == "" {
			return nil, nil
		}
	}
	return json.Marshal(out)
}

func cleanSchema(in map[string]any, defs map[string]any, depth int) map[string]any {
	if depth > maxSchemaDepth {
		return map[string]any{"type": "object"}
	}
	if ref, ok := in["$ref"].(string); ok {
		if target, ok := defs[ref].(map[string]any); ok {
			merged := make(map[string]any, len(target)+len(in))
			for k, v := range target {
				merged[k] = v
			}
			for k, v := range in {
				if k != "$ref" {
					merged[k] = v
				}
			}
			return cleanSchema(merged, defs, depth+1)
		}
		return map[string]any{"type": "object"}
	}
	out := make(map[string]any, len(in))
	if list, ok := in["allOf"].([]any); ok && len(list) > 0 {
		// allOf has no Gemini form: merge the sub-schemas into this one.
		for _, s := range list {
			if sm, ok := s.(map[string]any); ok {
				for k, v := range cleanSchema(sm, defs, depth+1) {
					out[k] = v
				}
			}
		}
	}
	for k, v := range in {
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				out["type"] = strings.ToLower(t)
			case []any:
				for _, x := range t {
					if s, ok := x.(string); ok {
						if s == "null" {
							out["nullable"] = true
						} else if out["type"] == nil {
							out["type"] = strings.ToLower(s)
						}
					}
				}
			}
		case "const":
			out["enum"] = []any{stringify(v)}
		case "enum":
			if list, ok := v.([]any); ok {
				vals := make([]any, 0, len(list))
				for _, x := range list {
					if x == nil {
						out["nullable"] = true
						continue
					}
					vals = append(vals, stringify(x))
				}
				out["enum"] = vals
			}
		case "properties":
			if props, ok := v.(map[string]any); ok {
				cp := make(map[string]any, len(props))
				for name, ps := range props {
					if psm, ok := ps.(map[string]any); ok {
						cp[name] = cleanSchema(psm, defs, depth+1)
					}
				}
				out["properties"] = cp
			}
		case "items":
			if im, ok := v.(map[string]any); ok {
				out["items"] = cleanSchema(im, defs, depth+1)
			}
		case "anyOf", "oneOf":
			if list, ok := v.([]any); ok {
				var alts []any
				for _, s := range list {
					sm, ok := s.(map[string]any)
					if !ok {
						continue
					}
					if t, _ := sm["type"].(string); t == "null" && len(sm) == 1 {
						out["nullable"] = true
						continue
					}
					alts = append(alts, cleanSchema(sm, defs, depth+1))
				}
				if len(alts) == 1 {
					for k2, v2 := range alts[0].(map[string]any) {
						if _, set := out[k2]; !set {
							out[k2] = v2
						}
					}
				} else if len(alts) > 1 {
					out["anyOf"] = alts
				}
			}
		case "exclusiveMinimum":
			if n, ok := v.(float64); ok {
				out["minimum"] = n
			}
		case "exclusiveMaximum":
			if n, ok := v.(float64); ok {
				out["maximum"] = n
			}
		case "examples":
			if list, ok := v.([]any); ok && len(list) > 0 {
				out["example"] = list[0]
			}
		case "format":
			if s, _ := v.(string); s == "enum" || s == "date-time" {
				out["format"] = s
			}
		case "required":
			if list, ok := v.([]any); ok {
				out["required"] = list
			}
		default:
			if geminiSchemaKeys[k] {
				if _, set := out[k]; !set {
					out[k] = v
				}
			}
		}
	}
	if _, ok := out["enum"]; ok {
		out["type"] = "string" // Gemini enums are string-only
	}
	if out["type"] == "array" && out["items"] == nil {
		out["items"] = map[string]any{"type": "string"}
	}
	if req, ok := out["required"].([]any); ok {
		props, _ := out["properties"].(map[string]any)
		var keep []any
		for _, r := range req {
			if s, ok := r.(string); ok && props[s] != nil {
				keep = append(keep, s)
			}
		}
		if len(keep) == 0 {
			delete(out, "required")
		} else {
			out["required"] = keep
		}
	}
	if _, ok := out["format"]; ok && out["type"] != "string" {
		delete(out, "format")
	}
	return out
}

func stringify(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return "null"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// lowerSchemaTypes turns a Gemini Schema (upper-case type names such as "OBJECT") into JSON Schema
// spelling, which other vendors require.
func lowerSchemaTypes(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || !strings.Contains(string(raw), `"type"`) {
		return raw
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return raw
	}
	lowerTypes(v, 0)
	b, err := json.Marshal(v)
	if err != nil {
		return raw
	}
	return b
}

func lowerTypes(v any, depth int) {
	if depth > maxSchemaDepth {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if s, ok := c.(string); ok && k == "type" {
				x[k] = strings.ToLower(s)
				continue
			}
			lowerTypes(c, depth+1)
		}
	case []any:
		for _, c := range x {
			lowerTypes(c, depth+1)
		}
	}
}
