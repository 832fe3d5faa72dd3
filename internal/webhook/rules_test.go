package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

func TestCompileRefusesWhatDoesNotCompileOrHasTheWrongType(t *testing.T) {
	for _, tc := range []struct {
		name string
		rule pagesv1alpha1.WebhookRule
		want string
	}{
		{"syntax", pagesv1alpha1.WebhookRule{Match: "body.slug ==", Paths: "['/']"}, "rules[0].match: ERROR"},
		{"undeclared variable", pagesv1alpha1.WebhookRule{Paths: "['/' + payload.slug]"}, "undeclared reference to 'payload'"},
		{"match not bool", pagesv1alpha1.WebhookRule{Match: "method", Paths: "['/']"}, "rules[0].match: the expression is of type string; want bool"},
		{"paths a string", pagesv1alpha1.WebhookRule{Paths: "'/posts/' + body.slug"}, "rules[0].paths: the expression is of type string; want list(string)"},
		{"tags a list of ints", pagesv1alpha1.WebhookRule{Tags: "[1, 2]"}, "rules[0].tags: the expression is of type list(int); want list(string)"},
		{"selector a list", pagesv1alpha1.WebhookRule{Selector: "['a=b']"}, "rules[0].selector: the expression is of type list(string); want string"},
		{"headers of the wrong type", pagesv1alpha1.WebhookRule{Match: "headers['x'] == 1", Paths: "['/']"}, "no matching overload"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile([]pagesv1alpha1.WebhookRule{tc.rule})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile() error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCompileAcceptsDynBodyExpressions(t *testing.T) {
	_, err := Compile([]pagesv1alpha1.WebhookRule{
		{Match: "headers['x-contentful-topic'].endsWith('.publish')", Paths: "body.fields.slug.map(l, '/' + body.fields.slug[l])"},
		{Match: "has(body._type)", Tags: "[body._type]"},
		{Selector: "'blog=' + body.blog"},
		{Paths: "['/posts/' + string(body.entry.id)]"},
		// docs/webhooks.md's examples.
		{Match: "headers['x-contentful-topic'].endsWith('.publish')", Paths: "body.fields.slug.map(locale, '/' + locale + '/' + body.fields.slug[locale])"},
		{Match: "body.model == 'article'", Paths: "['/articles/' + string(body.entry.id)]"},
		{Match: "has(body.post.current) && has(body.post.current.slug)", Paths: "['/blog/' + body.post.current.slug]"},
		{Match: "has(body.post.previous) && has(body.post.previous.slug) && !has(body.post.current.slug)", Paths: "['/blog/' + body.post.previous.slug]"},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// deliver evaluates rules on a JSON payload.
func deliver(t *testing.T, rs *Rules, payload string, headers map[string]string) (Targets, error) {
	t.Helper()
	var body any
	if err := json.Unmarshal([]byte(payload), &body); err != nil {
		t.Fatal(err)
	}
	return rs.Eval(context.Background(), Input{Body: body, Headers: headers, Method: "POST"})
}

func TestEvalCollectsTheTargetsOfEveryMatchingRule(t *testing.T) {
	rs, err := Compile([]pagesv1alpha1.WebhookRule{
		{Match: "headers['x-topic'].endsWith('.publish')", Paths: "['/posts/' + body.slug]", Tags: "[body.type]"},
		{Match: "body.type == 'author'", Selector: "'author=' + body.slug"},
		{Paths: "['/']"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := deliver(t, rs, `{"slug":"hello","type":"post"}`, map[string]string{"x-topic": "Entry.publish"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Matched != 2 || strings.Join(got.Paths, ",") != "/posts/hello,/" || strings.Join(got.Tags, ",") != "post" || len(got.Selectors) != 0 {
		t.Errorf("targets = %+v", got)
	}
	got, err = deliver(t, rs, `{"slug":"ann","type":"author"}`, map[string]string{"x-topic": "Entry.unpublish"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Matched != 2 || strings.Join(got.Paths, ",") != "/" || strings.Join(got.Selectors, ",") != "author=ann" {
		t.Errorf("targets = %+v", got)
	}
}

// A field some payloads lack fails those deliveries only, with a message
// naming the rule; has() guards it.
func TestEvalMissingFieldFailsOnlyThoseDeliveries(t *testing.T) {
	rs, err := Compile([]pagesv1alpha1.WebhookRule{{Paths: "['/posts/' + body.post.current.slug]"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := deliver(t, rs, `{"post":{"current":{"slug":"a"}}}`, nil); err != nil || got.Paths[0] != "/posts/a" {
		t.Fatalf("a full payload: %+v, %v", got, err)
	}
	_, err = deliver(t, rs, `{"post":{"previous":{"slug":"a"}}}`, nil)
	if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), "rules[0].paths") || !strings.Contains(err.Error(), "no such key: current") {
		t.Fatalf("a payload without the field: error %v", err)
	}

	guarded, err := Compile([]pagesv1alpha1.WebhookRule{{Match: "has(body.post.current)", Paths: "['/posts/' + body.post.current.slug]"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := deliver(t, guarded, `{"post":{"previous":{"slug":"a"}}}`, nil); err != nil || got.Matched != 0 {
		t.Fatalf("guarded with has(): %+v, %v", got, err)
	}
}

func TestEvalCostLimit(t *testing.T) {
	rs, err := Compile([]pagesv1alpha1.WebhookRule{{Paths: "body.ids.map(i, body.ids.map(j, 'x')).map(l, l[0])"}})
	if err != nil {
		t.Fatal(err)
	}
	// The cost limit, not the timeout, must end the evaluation, however
	// slow the machine (the race detector slows it many times).
	rs.timeout = time.Hour
	small, err := deliver(t, rs, `{"ids":[1,2,3]}`, nil)
	if err != nil || len(small.Paths) != 3 {
		t.Fatalf("a small payload: %+v, %v", small, err)
	}
	ids := strings.Repeat("0,", 5000) + "0"
	got, err := deliver(t, rs, `{"ids":[`+ids+`]}`, nil)
	if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), "cost limit exceeded") {
		t.Fatalf("a payload over the cost limit: %+v, error %v", got, err)
	}
	if len(got.Paths) != 0 || got.Matched != 0 {
		t.Errorf("targets returned with an error: %+v", got)
	}
}

func TestEvalRefusesResultsOfTheWrongTypeAtRunTime(t *testing.T) {
	rs, err := Compile([]pagesv1alpha1.WebhookRule{
		{Match: "body.publish", Paths: "body.paths"},
		{Selector: "body.selector"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for payload, want := range map[string]string{
		`{"publish":"yes","paths":[],"selector":"a=b"}`:    "rules[0].match",
		`{"publish":true,"paths":["/a",1],"selector":"a"}`: "rules[0].paths: not a list of strings",
		`{"publish":true,"paths":["/a"],"selector":1}`:     "rules[1].selector",
	} {
		if _, err := deliver(t, rs, payload, nil); !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", payload, err, want)
		}
	}
}
