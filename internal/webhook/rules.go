package webhook

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"
	"github.com/google/cel-go/ext"

	pagesv1alpha1 "github.com/isr-operator/isr-operator/api/v1alpha1"
)

// Limits of evaluating a receiver's rules on one delivery.
const (
	// CostLimit bounds the cost of each expression on one delivery, in
	// CEL's cost units (the Kubernetes API server's per-expression limit).
	CostLimit = 1_000_000
	// EvalTimeout bounds evaluating every rule of one delivery.
	EvalTimeout = time.Second
	// interruptEvery is how many comprehension iterations run between two
	// looks at the timeout.
	interruptEvery = 100
)

// The variables an expression sees.
const (
	// VarBody is the JSON-decoded payload (dyn).
	VarBody = "body"
	// VarHeaders maps lower-cased header names to their values joined by
	// ", ".
	VarHeaders = "headers"
	// VarMethod is the request method.
	VarMethod = "method"
)

// ErrEval wraps every error of evaluating a rule on a delivery: the
// delivery, not the receiver, is at fault.
var ErrEval = errors.New("evaluating the rules")

// Rules are a receiver's rules, compiled and type-checked.
type Rules struct {
	rules []rule
	// timeout bounds one Eval: EvalTimeout.
	timeout time.Duration
}

// rule is one compiled rule; a nil program is an absent field.
type rule struct {
	match, paths, tags, selector cel.Program
}

// Input is what the expressions of a delivery see.
type Input struct {
	// Body is the JSON-decoded payload.
	Body any
	// Headers are lower-cased names to values joined by ", ".
	Headers map[string]string
	// Method is the request method.
	Method string
}

// Targets is what a delivery names, over every rule that matched.
type Targets struct {
	// Matched is how many rules matched.
	Matched int
	// Paths, Tags and Selectors are the rules' results, in rule order.
	Paths, Tags, Selectors []string
}

// env is the one CEL environment of rules; its declarations never change.
var env = func() *cel.Env {
	e, err := cel.NewEnv(
		cel.Variable(VarBody, cel.DynType),
		cel.Variable(VarHeaders, cel.MapType(cel.StringType, cel.StringType)),
		cel.Variable(VarMethod, cel.StringType),
		ext.Strings(),
		ext.Lists(),
		ext.Encoders(),
	)
	if err != nil {
		panic(err)
	}
	return e
}()

// Compile compiles and type-checks every rule. Its error names the rule and
// field, and carries the compiler's message: it is what the manager puts in
// Ready=False InvalidRule, and what the server answers 503 with.
func Compile(rules []pagesv1alpha1.WebhookRule) (*Rules, error) {
	out := &Rules{rules: make([]rule, len(rules)), timeout: EvalTimeout}
	var errs []error
	for i, r := range rules {
		fields := []struct {
			name string
			src  string
			want *cel.Type
			into *cel.Program
		}{
			{"match", r.Match, cel.BoolType, &out.rules[i].match},
			{"paths", r.Paths, cel.ListType(cel.StringType), &out.rules[i].paths},
			{"tags", r.Tags, cel.ListType(cel.StringType), &out.rules[i].tags},
			{"selector", r.Selector, cel.StringType, &out.rules[i].selector},
		}
		for _, f := range fields {
			if f.src == "" {
				continue
			}
			p, err := compile(f.src, f.want)
			if err != nil {
				errs = append(errs, fmt.Errorf("rules[%d].%s: %w", i, f.name, err))
				continue
			}
			*f.into = p
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// compile compiles one expression whose result must be of type want.
func compile(src string, want *cel.Type) (cel.Program, error) {
	ast, iss := env.Compile(src)
	if iss.Err() != nil {
		return nil, errors.New(strings.TrimSpace(iss.Err().Error()))
	}
	// With body dyn, a type known only at run time (dyn, list(dyn)) may be
	// want's; Eval checks the value.
	if out := ast.OutputType(); !want.IsAssignableType(out) && !out.IsAssignableType(want) {
		return nil, fmt.Errorf("the expression is of type %s; want %s", cel.FormatCELType(ast.OutputType()), cel.FormatCELType(want))
	}
	p, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(interruptEvery))
	if err != nil {
		return nil, fmt.Errorf("building the program: %w", err)
	}
	return p, nil
}

// Eval evaluates every rule on in, within EvalTimeout (or ctx's end,
// whichever comes first). Any error is an ErrEval naming the rule and
// field, and no Targets: a delivery revalidates everything its rules name
// or nothing.
func (rs *Rules) Eval(ctx context.Context, in Input) (Targets, error) {
	ctx, cancel := context.WithTimeout(ctx, rs.timeout)
	defer cancel()
	vars := map[string]any{VarBody: in.Body, VarHeaders: in.Headers, VarMethod: in.Method}
	var t Targets
	for i, r := range rs.rules {
		if r.match != nil {
			v, err := eval(ctx, r.match, vars)
			if err != nil {
				return Targets{}, fmt.Errorf("%w: rules[%d].match: %w", ErrEval, i, err)
			}
			ok, isBool := v.Value().(bool)
			if !isBool {
				return Targets{}, fmt.Errorf("%w: rules[%d].match: got %s, want bool", ErrEval, i, v.Type().TypeName())
			}
			if !ok {
				continue
			}
		}
		t.Matched++
		for _, f := range []struct {
			name string
			p    cel.Program
			into *[]string
		}{{"paths", r.paths, &t.Paths}, {"tags", r.tags, &t.Tags}} {
			if f.p == nil {
				continue
			}
			v, err := eval(ctx, f.p, vars)
			if err != nil {
				return Targets{}, fmt.Errorf("%w: rules[%d].%s: %w", ErrEval, i, f.name, err)
			}
			list, err := v.ConvertToNative(reflect.TypeFor[[]string]())
			if err != nil {
				return Targets{}, fmt.Errorf("%w: rules[%d].%s: not a list of strings: %w", ErrEval, i, f.name, err)
			}
			*f.into = append(*f.into, list.([]string)...)
		}
		if r.selector != nil {
			v, err := eval(ctx, r.selector, vars)
			if err != nil {
				return Targets{}, fmt.Errorf("%w: rules[%d].selector: %w", ErrEval, i, err)
			}
			s, ok := v.Value().(string)
			if !ok {
				return Targets{}, fmt.Errorf("%w: rules[%d].selector: got %s, want string", ErrEval, i, v.Type().TypeName())
			}
			t.Selectors = append(t.Selectors, s)
		}
	}
	return t, nil
}

// eval runs one program; a CEL error value is an error.
func eval(ctx context.Context, p cel.Program, vars map[string]any) (ref.Val, error) {
	v, _, err := p.ContextEval(ctx, vars)
	if err != nil {
		return nil, err
	}
	if types.IsError(v) {
		return nil, fmt.Errorf("%v", v)
	}
	return v, nil
}
