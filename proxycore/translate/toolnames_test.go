package translate

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cliproxy/cliproxy/proxycore/llm"
)

func TestLongToolNamesRoundTrip(t *testing.T) {
	long := "mcp__claude_ai_Google_Drive__google_drive_search_files_and_folders_in_shared_drives"
	short := shortToolName(long, openAIMaxToolName)
	if len(short) != openAIMaxToolName || short == long || shortToolName("short", openAIMaxToolName) != "short" {
		t.Fatalf("short name %q", short)
	}
	req := &llm.Request{Model: "m", SourceFormat: llm.FormatClaude,
		Tools:      []llm.Tool{{Type: "function", Name: long}, {Type: "function", Name: "Bash"}},
		ToolChoice: &llm.ToolChoice{Mode: llm.ToolChoiceTool, Name: long},
		Messages: []llm.Message{{Role: llm.RoleAssistant, Parts: []llm.Part{{Kind: llm.PartToolCall,
			ToolCall: &llm.ToolCall{ID: "t1", Name: long, Arguments: json.RawMessage(`{}`)}}}}}}
	reg := testRegistry()
	for _, f := range []llm.Format{llm.FormatOpenAIChat, llm.FormatResponses} {
		body, err := reg.Codec(f).EncodeRequest(req)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), long) || strings.Count(string(body), short) != 3 {
			t.Errorf("%s request:\n%s", f, body)
		}
	}
	if req.Tools[0].Name != long || req.Messages[0].Parts[0].ToolCall.Name != long || req.ToolChoice.Name != long {
		t.Fatal("EncodeRequest modified the caller's request")
	}
	// The upstream answers with the short name; every client format sees the declared one.
	stream := "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"" + short + "\",\"arguments\":\"{}\"}}]}}]}\n\n" +
		"data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\ndata: [DONE]\n\n"
	for _, client := range []llm.Format{llm.FormatClaude, llm.FormatGemini, llm.FormatResponses, llm.FormatOpenAIChat} {
		out := string(pumpStream(t, reg.Codec(llm.FormatOpenAIChat).NewStreamDecoder(), reg.Codec(client).NewStreamEncoder(req), []byte(stream)))
		if !strings.Contains(out, long) || strings.Contains(out, short) {
			t.Errorf("%s client stream did not restore the name:\n%s", client, out)
		}
	}
	resp := &llm.Response{Message: llm.Message{Parts: []llm.Part{{Kind: llm.PartToolCall, ToolCall: &llm.ToolCall{Name: short}}}}}
	RestoreToolNames(resp, req)
	if resp.Message.Parts[0].ToolCall.Name != long {
		t.Fatal("RestoreToolNames")
	}
}
