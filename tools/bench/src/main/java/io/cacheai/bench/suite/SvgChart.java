package io.cacheai.bench.suite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The chart of a run as plain SVG text: one column per model; on top size on disk (log scale)
 * against accuracy, one labelled point per form; below, batch-1 p50 latency per form as bars.
 *
 * <pre>
 *   ┌ model A ─────────┐ ┌ model B ─────────┐ ┌ model C ─────────┐
 *   │ accuracy ↑  •int8 │ │                  │ │                  │   size vs accuracy
 *   │        size (KB) →│ │                  │ │                  │
 *   ├───────────────────┤ ├──────────────────┤ ├──────────────────┤
 *   │ ORT fp32  ▇▇▇ 13  │ │                  │ │                  │   batch-1 p50 (µs)
 *   │ ours int8 ▇ 9     │ │                  │ │                  │
 *   └───────────────────┘ └──────────────────┘ └──────────────────┘
 * </pre>
 */
final class SvgChart {
  static final int PANEL_W = 320;
  static final int PANEL_H = 230;
  static final int MARGIN_L = 58;
  static final int MARGIN_R = 14;
  static final int TOP = 46;

  private SvgChart() {}

  static String color(Form form) {
    return switch (form.name()) {
      case "ort-fp32" -> "#555555";
      case "fp32" -> "#1f77b4";
      case "int8" -> "#2ca02c";
      case "int4" -> "#ff7f0e";
      case "mixed" -> "#d62728";
      case "cacheai" -> "#9467bd";
      default -> "#8c564b";
    };
  }

  static void write(Path file, List<FormResult> rows, String title) throws IOException {
    Files.writeString(file, render(rows, title), StandardCharsets.UTF_8);
  }

  static String render(List<FormResult> rows, String title) {
    Map<String, List<FormResult>> byModel = new LinkedHashMap<>();
    for (FormResult r : rows) {
      if (r.measured()) {
        byModel.computeIfAbsent(r.model(), m -> new ArrayList<>()).add(r);
      }
    }
    int columns = Math.max(1, byModel.size());
    int width = columns * PANEL_W;
    int height = TOP + 2 * PANEL_H + 30;
    StringBuilder svg = new StringBuilder();
    svg.append(
        String.format(
            Locale.ROOT,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\""
                + " font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"11\">%n",
            width,
            height,
            width,
            height));
    svg.append(String.format("<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"20\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
            10,
            escape(title)));
    int column = 0;
    for (Map.Entry<String, List<FormResult>> entry : byModel.entrySet()) {
      int x0 = column * PANEL_W;
      scatter(svg, entry.getKey(), entry.getValue(), x0, TOP);
      bars(svg, entry.getValue(), x0, TOP + PANEL_H + 10);
      column++;
    }
    svg.append("</svg>\n");
    return svg.toString();
  }

  /** Size (KB, log10) against accuracy (%), one point per form. */
  private static void scatter(
      StringBuilder svg, String model, List<FormResult> rows, int x0, int y0) {
    int left = x0 + MARGIN_L;
    int right = x0 + PANEL_W - MARGIN_R;
    int top = y0 + 18;
    int bottom = y0 + PANEL_H - 34;
    double minKb = Double.MAX_VALUE;
    double maxKb = 0;
    double minAcc = 100;
    for (FormResult r : rows) {
      minKb = Math.min(minKb, r.sizeBytes() / 1024.0);
      maxKb = Math.max(maxKb, r.sizeBytes() / 1024.0);
      minAcc = Math.min(minAcc, r.quality().accuracyPct());
    }
    double lo = Math.floor(Math.log10(minKb) * 4) / 4 - 0.1;
    double hi = Math.ceil(Math.log10(maxKb) * 4) / 4 + 0.1;
    double accLo = Math.max(0, Math.floor(minAcc - 1));
    double accHi = 100;
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s: size vs accuracy</text>%n",
            left,
            y0 + 10,
            escape(model)));
    axes(svg, left, right, top, bottom);
    for (int e = (int) Math.ceil(lo); e <= hi; e++) {
      double x = left + (e - lo) / (hi - lo) * (right - left);
      tick(
          svg,
          x,
          bottom,
          String.format(
              Locale.ROOT,
              "%s",
              e >= 3 ? (int) Math.pow(10, e - 3) + " MB" : (int) Math.pow(10, e) + " KB"));
    }
    for (int i = 0; i <= 4; i++) {
      double acc = accLo + i * (accHi - accLo) / 4;
      double y = bottom - (acc - accLo) / (accHi - accLo) * (bottom - top);
      svg.append(
          String.format(
              Locale.ROOT,
              "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>"
                  + "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f%%</text>%n",
              left,
              y,
              right,
              y,
              left - 4,
              y + 4,
              acc));
    }
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">size on disk (log)</text>%n",
            (left + right) / 2,
            bottom + 28));
    int labelOffset = 0;
    for (FormResult r : rows) {
      double x = left + (Math.log10(r.sizeBytes() / 1024.0) - lo) / (hi - lo) * (right - left);
      double y = bottom - (r.quality().accuracyPct() - accLo) / (accHi - accLo) * (bottom - top);
      svg.append(
          String.format(
              Locale.ROOT,
              "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4.5\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%.1f\" fill=\"%s\">%s</text>%n",
              x,
              y,
              color(r.form()),
              x + 6,
              y - 4 + (labelOffset++ % 2) * 12,
              color(r.form()),
              escape(r.form().label())));
    }
  }

  /** Batch-1 p50 latency per form, linear scale, value at the end of each bar. */
  private static void bars(StringBuilder svg, List<FormResult> rows, int x0, int y0) {
    int left = x0 + 78;
    int right = x0 + PANEL_W - 50;
    int top = y0 + 18;
    double max = rows.stream().mapToDouble(r -> r.batch1().p50Us()).max().orElse(1);
    svg.append(
        String.format(
            Locale.ROOT,
            "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">batch-1 p50 latency (µs)</text>%n",
            x0 + MARGIN_L,
            y0 + 10));
    int barH = Math.min(22, (PANEL_H - 40) / Math.max(1, rows.size()));
    for (int i = 0; i < rows.size(); i++) {
      FormResult r = rows.get(i);
      double w = Math.max(1, r.batch1().p50Us() / max * (right - left));
      int y = top + i * barH;
      svg.append(
          String.format(
              Locale.ROOT,
              "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>"
                  + "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>"
                  + "<text x=\"%.1f\" y=\"%d\">%s%s</text>%n",
              left - 4,
              y + barH - 7,
              escape(r.form().label()),
              left,
              y + 2,
              w,
              barH - 5,
              color(r.form()),
              left + w + 3,
              y + barH - 7,
              Reports.fmt(r.batch1().p50Us()),
              r.batch1().stable() ? "" : "*"));
    }
  }

  private static void axes(StringBuilder svg, int left, int right, int top, int bottom) {
    svg.append(
        String.format(
            Locale.ROOT,
            "<path d=\"M%d %d V%d H%d\" fill=\"none\" stroke=\"#333\"/>%n",
            left,
            top,
            bottom,
            right));
  }

  private static void tick(StringBuilder svg, double x, int bottom, String label) {
    svg.append(
        String.format(
            Locale.ROOT,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#333\"/>"
                + "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>%n",
            x,
            bottom,
            x,
            bottom + 4,
            x,
            bottom + 15,
            escape(label)));
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
