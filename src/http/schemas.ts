import * as z from "zod";

// With the u flag a lone surrogate is a code point of its own, \p{Cs}; a proper pair is not.
const LONE_SURROGATE = /\p{Cs}/u;
// C0, DEL and C1 controls: never text.
const CONTROL_CHARACTERS = /\p{Cc}/u;
// Bidi embeddings, overrides (U+202A–U+202E) and isolates (U+2066–U+2069): they reorder what a
// reader sees, so a name could display as another. Marks (U+200E/F) and joiners stay allowed.
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/u;
// Format characters (zero-width space and joiners, bidi controls, BOM, soft hyphen, …): an id
// holding one looks the same as one without it.
const FORMAT_CHARACTERS = /\p{Cf}/u;
// Characters a reader cannot see or tell from a gap: every White_Space (spaces of all widths,
// tabs, line and paragraph separators U+2028/U+2029), the default-ignorable code points
// (fillers U+115F, U+1160, U+3164, U+FFA0, variation selectors, U+034F, U+17B4/U+17B5, tags) and
// the blank braille pattern U+2800, which no property marks.
const WHITESPACE = /\p{White_Space}/u;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\u2800]/u;

// Unicode's scripts, but Common, Inherited and Unknown, as the runtime's regular expressions know
// them (Unicode 17). A script the runtime lacks is skipped, and a character of a script missing
// here (a newer one) fits none, so an id using it is refused rather than let through unchecked.
const SCRIPT_NAMES =
  "Adlam Ahom Anatolian_Hieroglyphs Arabic Armenian Avestan Balinese Bamum Bassa_Vah Batak " +
  "Bengali Beria_Erfe Bhaiksuki Bopomofo Brahmi Braille Buginese Buhid Canadian_Aboriginal " +
  "Carian Caucasian_Albanian Chakma Cham Cherokee Chorasmian Coptic Cuneiform Cypriot " +
  "Cypro_Minoan Cyrillic Deseret Devanagari Dives_Akuru Dogra Duployan Egyptian_Hieroglyphs " +
  "Elbasan Elymaic Ethiopic Garay Georgian Glagolitic Gothic Grantha Greek Gujarati " +
  "Gunjala_Gondi Gurmukhi Gurung_Khema Han Hangul Hanifi_Rohingya Hanunoo Hatran Hebrew " +
  "Hiragana Imperial_Aramaic Inscriptional_Pahlavi Inscriptional_Parthian Javanese Kaithi " +
  "Kannada Katakana Kawi Kayah_Li Kharoshthi Khitan_Small_Script Khmer Khojki Khudawadi " +
  "Kirat_Rai Lao Latin Lepcha Limbu Linear_A Linear_B Lisu Lycian Lydian Mahajani Makasar " +
  "Malayalam Mandaic Manichaean Marchen Masaram_Gondi Medefaidrin Meetei_Mayek Mende_Kikakui " +
  "Meroitic_Cursive Meroitic_Hieroglyphs Miao Modi Mongolian Mro Multani Myanmar Nabataean " +
  "Nag_Mundari Nandinagari New_Tai_Lue Newa Nko Nushu Nyiakeng_Puachue_Hmong Ogham Ol_Chiki " +
  "Ol_Onal Old_Hungarian Old_Italic Old_North_Arabian Old_Permic Old_Persian Old_Sogdian " +
  "Old_South_Arabian Old_Turkic Old_Uyghur Oriya Osage Osmanya Pahawh_Hmong Palmyrene " +
  "Pau_Cin_Hau Phags_Pa Phoenician Psalter_Pahlavi Rejang Runic Samaritan Saurashtra Sharada " +
  "Shavian Siddham Sidetic SignWriting Sinhala Sogdian Sora_Sompeng Soyombo Sundanese Sunuwar " +
  "Syloti_Nagri Syriac Tagalog Tagbanwa Tai_Le Tai_Tham Tai_Viet Tai_Yo Takri Tamil Tangsa " +
  "Tangut Telugu Thaana Thai Tibetan Tifinagh Tirhuta Todhri Tolong_Siki Toto Tulu_Tigalari " +
  "Ugaritic Vai Vithkuqi Wancho Warang_Citi Yezidi Yi Zanabazar_Square";

/**
 * An id of characters whose Script_Extensions include one of `scripts`, or are only Common
 * (digits, punctuation, symbols) or Inherited (combining marks): they never count as a script.
 */
const writtenIn = (...scripts: string[]) =>
  new RegExp(
    `^[${[...scripts, "Common", "Inherited"].map((s) => `\\p{Script_Extensions=${s}}`).join("")}]*$`,
    "u",
  );

// UTS #39's "highly restrictive" mixes: Latin with Han and Japanese kana, with Han and Bopomofo,
// or with Han and Hangul. Pure Latin, the usual id, passes the first.
const CJK_MIXES = [
  writtenIn("Latin", "Han", "Hiragana", "Katakana"),
  writtenIn("Latin", "Han", "Bopomofo"),
  writtenIn("Latin", "Han", "Hangul"),
];

let singleScripts: RegExp[] | undefined;
/** One pattern per script, built on the first id that is not Latin or CJK. */
function singleScriptPatterns(): RegExp[] {
  singleScripts ??= SCRIPT_NAMES.split(" ").flatMap((script) => {
    try {
      return [writtenIn(script)];
    } catch {
      return [];
    }
  });
  return singleScripts;
}

/**
 * UTS #39's "highly restrictive" profile: one script, or one of its Latin and CJK mixes. So
 * Cyrillic "аlice" (U+0430) cannot sit beside Latin "alice"; "東京tokyo" and "Иван-2" can.
 */
const isHighlyRestrictive = (id: string) =>
  CJK_MIXES.some((mix) => mix.test(id)) || singleScriptPatterns().some((script) => script.test(id));

/**
 * A display name: 1–128 characters (code points) after trimming; well-formed text with no
 * control characters and no bidi overrides or isolates. Any script and emoji (ZWJ sequences
 * too) are fine. Each use gives its own example: a workspace is not named like a key.
 */
export const NameSchema = z
  .string()
  .trim()
  .refine((name) => name.length > 0, "must not be empty")
  .refine((name) => [...name].length <= 128, "must be at most 128 characters")
  .refine((name) => !LONE_SURROGATE.test(name), "must be well-formed Unicode (a lone surrogate)")
  .refine((name) => !CONTROL_CHARACTERS.test(name), "must not contain control characters")
  .refine(
    (name) => !BIDI_CONTROLS.test(name),
    "must not contain bidi override or isolate characters (U+202A–U+202E, U+2066–U+2069)",
  )
  .meta({ minLength: 1, maxLength: 128 });

/**
 * A member id in a path: an id that may already be stored. Ids stored before the look-alike rules
 * below (inner whitespace, invisible characters, mixed scripts) must stay reachable, so an ADMIN
 * can still change or remove such a member; the rules every id has had to meet still apply.
 */
export const StoredUserIdSchema = z
  .string()
  .min(1, { message: "must not be empty", abort: true })
  .max(255, { message: "must be at most 255 characters", abort: true })
  .refine((id) => !LONE_SURROGATE.test(id), {
    message: "must be well-formed Unicode (a lone surrogate)",
    abort: true,
  })
  .refine((id) => /\S/u.test(id), { message: "must not be blank", abort: true })
  .refine((id) => id.trim() === id, {
    message: "must not start or end with whitespace",
    abort: true,
  })
  .refine((id) => !CONTROL_CHARACTERS.test(id) && !FORMAT_CHARACTERS.test(id), {
    message: "must not contain control or format characters (such as zero-width or bidi controls)",
    abort: true,
  })
  .refine((id) => id.normalize("NFC") === id, {
    message: "must be in Unicode normalization form C (NFC)",
    abort: true,
  })
  .meta({ examples: ["user_2b9f1c"] });

/**
 * A user id as it appears in a JWT `sub`, and as new members are named. Two ids that look the
 * same must be the same id: besides the rules above, no whitespace, no otherwise invisible
 * characters, and one script (UTS #39 highly restrictive). Checked in that order so the first
 * problem is named.
 */
export const UserIdSchema = StoredUserIdSchema.refine((id) => !WHITESPACE.test(id), {
  message: "must not contain whitespace (spaces, tabs, line breaks, U+2028/U+2029)",
  abort: true,
})
  .refine((id) => !INVISIBLE.test(id), {
    message:
      "must not contain invisible characters (fillers such as U+3164, variation selectors, U+034F, U+17B4, U+2800)",
    abort: true,
  })
  .refine(isHighlyRestrictive, {
    message:
      "must not mix scripts (such as Cyrillic with Latin): one script, or Latin with Han and kana, Bopomofo or Hangul",
  })
  .meta({ examples: ["user_2b9f1c"] });

/** Ids are UUIDs. D1 compares text case-sensitively and ids are stored lower-case, so input is folded. */
export const UuidSchema = z.uuid("must be a UUID").overwrite((id) => id.toLowerCase());

// Each kind of id with an example of its own, the same wherever it appears, so the API reference's
// examples read as one workspace's requests and answers, and sending one is not refused as invalid.
export const WorkspaceIdSchema = UuidSchema.meta({
  examples: ["3f6c1e2a-8b4d-4c7e-9a15-2d8f0b6e4c31"],
});
export const RepoIdSchema = UuidSchema.meta({ examples: ["0b5a7d2e-91c4-4f3a-8e6b-5c2d1a9f7e40"] });
/** A storage or AI key's id (not its access key: that is `key`). */
export const KeyIdSchema = UuidSchema.meta({ examples: ["c8e4f1a2-6d3b-4e9f-a7c5-1b0d2e8f9a63"] });

export const TimestampSchema = z.iso.datetime().meta({ examples: ["2026-11-23T09:30:00.000Z"] });

export const ErrorBodySchema = z
  .object({
    success: z.literal(false),
    message: z.string().meta({ examples: ["Insufficient permissions"] }),
    code: z
      .string()
      .optional()
      .meta({ examples: ["FORBIDDEN"] }),
    requestId: z.string().optional(),
    issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: "Error" });

export const MessageResponseSchema = z
  .object({
    success: z.literal(true),
    message: z.string().meta({
      description: 'What was done, in words ("API key updated", "Member role updated", …)',
      examples: ["API key updated"],
    }),
  })
  .meta({ id: "MessageResponse" });
