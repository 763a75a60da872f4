package io.cacheai.ocr;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;

/**
 * Prescription-like text lines for OCR tests: drug names with strengths, dosage instructions,
 * quantities, refills and dates — the kind of line a pharmacy reads. A fixed core plus lines
 * composed from a seeded generator, so the set is the same on every run.
 */
public final class PrescriptionLines {
  static final List<String> CORE =
      List.of(
          "Amoxicillin 500mg",
          "1 tab 3x daily",
          "Rx #30",
          "2026-11-29",
          "Ibuprofen 200 mg",
          "Take 2 tablets at bedtime",
          "Metformin 850mg",
          "Lisinopril 10 mg",
          "Refills: 2",
          "Qty: 90",
          "Atorvastatin 40mg",
          "Take with food",
          "Omeprazole 20 mg",
          "1 cap before breakfast",
          "Dr. A. Smith, MD",
          "Exp 2027-03-15");

  static final List<String> DRUGS =
      List.of(
          "Amoxicillin",
          "Ibuprofen",
          "Paracetamol",
          "Metformin",
          "Lisinopril",
          "Atorvastatin",
          "Omeprazole",
          "Amlodipine",
          "Sertraline",
          "Cetirizine",
          "Prednisone",
          "Azithromycin",
          "Levothyroxine",
          "Losartan",
          "Gabapentin",
          "Simvastatin");

  static final List<String> STRENGTHS =
      List.of("5mg", "10mg", "20 mg", "25mg", "50 mg", "100mg", "250mg", "400 mg", "500mg");

  static final List<String> INSTRUCTIONS =
      List.of(
          "Take %d tablets at bedtime",
          "%d tab 2x daily",
          "Take %d capsule every 8 hours",
          "Use %d puffs as needed",
          "%d tab daily for 7 days",
          "Take %d tablet in the morning");

  private PrescriptionLines() {}

  /** {@code count} distinct lines: the core first, then seeded compositions. */
  public static List<String> generate(int count, long seed) {
    Random random = new Random(seed);
    Set<String> lines = new LinkedHashSet<>(CORE.subList(0, Math.min(count, CORE.size())));
    int attempts = 0;
    while (lines.size() < count && attempts++ < 100 * count) {
      String line =
          switch (random.nextInt(5)) {
            case 0 ->
                DRUGS.get(random.nextInt(DRUGS.size()))
                    + " "
                    + STRENGTHS.get(random.nextInt(STRENGTHS.size()));
            case 1 ->
                String.format(
                    INSTRUCTIONS.get(random.nextInt(INSTRUCTIONS.size())), 1 + random.nextInt(3));
            case 2 -> "Rx #" + (10 + random.nextInt(990));
            case 3 ->
                String.format(
                    "%d-%02d-%02d",
                    2024 + random.nextInt(4), 1 + random.nextInt(12), 1 + random.nextInt(28));
            default -> "Qty: " + (10 + random.nextInt(110)) + "  Refills: " + random.nextInt(6);
          };
      lines.add(line.replace("  ", " "));
    }
    return new ArrayList<>(lines);
  }
}
