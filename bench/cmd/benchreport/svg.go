package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"strings"
)

// Layout of the chart, in SVG user units (pixels at 100%).
const (
	svgWidth    = 880
	svgPlotLeft = 190 // left edge of the bars; labels sit left of it
	svgPlotEnd  = svgWidth - 110
	svgBarH     = 16
	svgBarGap   = 4
	svgGroupGap = 22
)

// palette is the Okabe-Ito palette, readable with colour-blindness; the
// baseline gets the grey.
var palette = []string{"#7f7f7f", "#E69F00", "#56B4E9", "#009E73", "#0072B2", "#D55E00", "#CC79A7", "#F0E442"}

// writeSVG draws the hit-path ns/op of r as grouped horizontal bars, one
// group per workload and GOMAXPROCS, one colour per implementation. The SVG
// is self-contained: no scripts, styles, fonts or images from elsewhere.
func writeSVG(w io.Writer, r *report) error {
	cols := r.hitColumns()
	maxNs := 0.0
	for _, c := range cols {
		for _, impl := range r.impls {
			c.name = impl.Name
			if s := r.results[c]; ok(s) {
				maxNs = math.Max(maxNs, s.ns)
			}
		}
	}
	step, top := ticks(maxNs)
	x := func(ns float64) float64 { return svgPlotLeft + ns/top*(svgPlotEnd-svgPlotLeft) }

	var body bytes.Buffer
	y := 0.0
	title := fmt.Sprintf("Hit path: ns per read, median of %s (lower is faster)", plural(r.reps, "run"))
	sub := fmt.Sprintf("%s, %d cores, %s %s/%s, %s", r.machine.cpu, r.machine.cores,
		r.machine.goVer, r.machine.goos, r.machine.goarch, r.machine.started.Format("2006-01-02"))
	y += 30
	text(&body, 20, y, "start", `font-size="18" font-weight="bold"`, title)
	y += 20
	text(&body, 20, y, "start", `font-size="12" fill="#555"`, sub)

	// Legend, wrapped to the width.
	y += 24
	lx := 20.0
	for i, impl := range r.impls {
		wide := 30 + 7*float64(len(impl.Label))
		if lx+wide > svgWidth-20 {
			lx, y = 20, y+20
		}
		fmt.Fprintf(&body, `<rect x="%g" y="%g" width="12" height="12" fill="%s"/>`+"\n", lx, y-10, palette[i%len(palette)])
		text(&body, lx+17, y, "start", `font-size="12"`, impl.Label)
		lx += wide
	}

	plotTop := y + 18
	y = plotTop
	for _, c := range cols {
		y += 16
		text(&body, 20, y, "start", `font-size="13" font-weight="bold"`, fmt.Sprintf("%s, GOMAXPROCS=%d", c.group, c.procs))
		y += 8
		base := r.results[caseKey{sectionHit, c.group, c.procs, r.impls[0].Name}]
		for i, impl := range r.impls {
			c.name = impl.Name
			s := r.results[c]
			mid := y + svgBarH/2 + 4
			text(&body, svgPlotLeft-8, mid, "end", `font-size="12"`, impl.Label)
			if !ok(s) {
				text(&body, svgPlotLeft+4, mid, "start", `font-size="12" fill="#b00"`, "failed")
			} else {
				label := formatNs(s.ns) + pairedLabel(s, base)
				fmt.Fprintf(&body, `<rect x="%d" y="%g" width="%.1f" height="%d" fill="%s">`,
					svgPlotLeft, y, x(s.ns)-svgPlotLeft, svgBarH, palette[i%len(palette)])
				body.WriteString("<title>")
				escapeXML(&body, fmt.Sprintf("%s, %s, GOMAXPROCS=%d: %s, %s allocs/op",
					impl.Label, c.group, c.procs, label, formatFloat(s.allocs)))
				body.WriteString("</title></rect>\n")
				text(&body, x(s.ns)+4, mid, "start", `font-size="11" fill="#333"`, label)
			}
			y += svgBarH + svgBarGap
		}
		y += svgGroupGap - svgBarGap
	}
	plotBottom := y

	// Axis: grid lines behind the bars are drawn first, in a group of their own.
	var grid bytes.Buffer
	for v := 0.0; v <= top+step/2; v += step {
		fmt.Fprintf(&grid, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#ddd"/>`+"\n", x(v), plotTop, x(v), plotBottom)
		text(&body, x(v), plotBottom+16, "middle", `font-size="11" fill="#333"`, formatFloat(v))
	}
	fmt.Fprintf(&body, `<line x1="%d" y1="%g" x2="%d" y2="%g" stroke="#333"/>`+"\n", svgPlotLeft, plotTop, svgPlotLeft, plotBottom)
	text(&body, (svgPlotLeft+svgPlotEnd)/2, plotBottom+36, "middle", `font-size="12"`, "ns/op")
	height := plotBottom + 52

	var out bytes.Buffer
	fmt.Fprintf(&out, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%g" viewBox="0 0 %d %g" `+
		`font-family="sans-serif" role="img" aria-labelledby="chart-title">`+"\n", svgWidth, height, svgWidth, height)
	out.WriteString(`<title id="chart-title">`)
	escapeXML(&out, title)
	out.WriteString("</title>\n")
	fmt.Fprintf(&out, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	out.Write(grid.Bytes())
	out.Write(body.Bytes())
	out.WriteString("</svg>\n")
	_, err := w.Write(out.Bytes())
	return err
}

// ticks returns a round axis step (1, 2, 2.5 or 5 times a power of ten)
// and the end of an axis that covers max in at most eight steps.
func ticks(max float64) (step, top float64) {
	if max <= 0 {
		return 1, 5
	}
	mag := math.Pow(10, math.Floor(math.Log10(max/8)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if step = m * mag; math.Ceil(max/step) <= 8 {
			break
		}
	}
	return step, step * math.Ceil(max/step)
}

// text writes a <text> element; attrs are extra attributes, already escaped.
func text(w *bytes.Buffer, x, y float64, anchor, attrs, s string) {
	fmt.Fprintf(w, `<text x="%.1f" y="%g" text-anchor="%s" %s>`, x, y, anchor, attrs)
	escapeXML(w, s)
	w.WriteString("</text>\n")
}

func escapeXML(w *bytes.Buffer, s string) {
	_ = xml.EscapeText(w, []byte(strings.ToValidUTF8(s, "?")))
}
