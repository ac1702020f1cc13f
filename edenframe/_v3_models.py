"""Eden AI v3 as data: how each v2 catalog subfeature is called on v3, and v3's own subfeatures.

Built only from Eden AI's v3 documents (`../shared/eden-api/wire-format-v3.md`, the generated feature pages
`v3-features/*.mdx` of 2026-08-22, which mirror the production `GET /v3/info`, and the v3 OpenAPI of 2026-06), never
from what a client sends. Two tables:

- `V3_SUBFEATURES`: every v3 Universal-AI subfeature the documents describe ("audio/tts", "ocr/ocr_async", ...):
  `mode` (sync or async), input fields, whether `fallbacks` are allowed, and the output type where it is not the
  v2 catalog entry's own (v3's new subfeatures, text to speech, the financial parser).
- `V3_MAPPINGS`: one record per v2 catalog path: which v3 endpoint serves it ("universal-ai", "embeddings",
  "chat", or None where v3 has no expert model), the v3 subfeature, input renames (v2 name -> v3 name), the v2
  fields v3 refuses, and input values the v2 subfeature implies (invoice parsing is the financial parser with
  `document_type="invoice"`).

`V3_MODELS` lists the documented models of each subfeature with their price ("$0.016 per 1,000 chars" is
`ModelPrice("amazon/neural", 0.016, 1000, "char")`). `GET /v3/info` is the live truth; these are the fallback and
what the emulator serves. Data and small lookups only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from ._schema import BOOL, FLOAT, INT, STR, Struct, Type, enum, items_of, list_of, struct

Endpoint = Literal["universal-ai", "embeddings", "chat"]
Mode = Literal["sync", "async"]

# What v3 calls each endpoint kind (for messages and the emulator's routes).
ENDPOINT_PATHS: dict[str, str] = {
    "universal-ai": "/v3/universal-ai",
    "embeddings": "/v3/embeddings",
    "chat": "/v3/chat/completions",
}
MAX_FALLBACKS = 3  # UniversalAIBody.fallbacks maxItems (OpenAPI 2026-06); "Sending more returns a 422"

# Top-level v2 request options with no place in v3's UniversalAIBody (wire-format-v3 1.2): refused on v3.
V2_ONLY_OPTIONS: dict[str, str] = {
    "providers": "the provider goes in `model` ('feature/subfeature/provider[/model]')",
    "fallback_providers": "send `fallbacks` (at most 3)",
    "settings": "name the provider's model in `model` ('.../provider/model')",
    "response_as_dict": "v3 answers one provider per request",
    "attributes_as_list": "v3 has no equivalent",
    "show_base_64": "v3 has no equivalent",
}


@dataclass(frozen=True)
class V3Field:
    """One field of a v3 subfeature's `input`, as its feature page lists it."""

    name: str
    type: Type | None  # None: any JSON value (image generation's reference images: file ids, URLs or objects)
    required: bool = False
    file: bool = False  # a file input: a public URL or a `file_id` from POST /v3/upload
    description: str = ""


@dataclass(frozen=True)
class ModelPrice:
    """One documented model: "provider[/model]" after "feature/subfeature/", and its listed price."""

    model: str
    price: float  # USD per `per` units of `unit` (the /v3/info `pricing.price`)
    per: int  # `pricing.price_unit_quantity`
    unit: str  # `pricing.price_unit_type`: char, page, file, image, request, second, minute, token, ...

    @property
    def provider(self) -> str:
        return self.model.split("/", 1)[0]


@dataclass(frozen=True)
class V3Subfeature:
    """A v3 Universal-AI subfeature, as its generated feature page documents it."""

    path: str  # "audio/tts": the model string is f"{path}/{provider}[/{model}]"
    mode: Mode
    inputs: tuple[V3Field, ...]
    # The standardized output. None: the same fields as the v2 catalog entry that maps to it (wire-format-v3 4.3:
    # v3 `output` = v2's per-provider object).
    output: Struct | None = None
    fallbacks: bool = True  # whether `fallbacks` may be sent (not on audio/tts, image/face_recognition: SKILL-09)
    method: str | None = None  # the accessor method suggested for a subfeature new in v3 (None: the v2 one)
    summary: str = ""
    source: str = ""  # the feature page, or the source that documents a subfeature without one
    notes: str = ""

    @property
    def feature(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def subfeature(self) -> str:
        return self.path.split("/", 1)[1]

    @property
    def endpoint(self) -> str:
        """The launch path: `/v3/universal-ai` (sync) or `/v3/universal-ai/async`."""
        return "/v3/universal-ai/async" if self.mode == "async" else "/v3/universal-ai"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.inputs if f.required)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.inputs)

    def input(self, name: str) -> V3Field | None:
        for f in self.inputs:
            if f.name == name:
                return f
        return None


@dataclass(frozen=True)
class OutputMap:
    """How a v3 output whose fields differ from the v2 entry's becomes the v2 output (data, applied by
    `_transport/v3_shapes.py`).

    `each` names the list both shapes hold ("extracted_data": one element per parsed document); every element is
    mapped on its own. `fields` pairs a v2 field with its v3 source, as dotted paths inside an element:

    - "merchant_information.merchant_name" <- "merchant_information.name": a nested field;
    - a source "a|b" takes the first of `a`, `b` that is present (not null);
    - "item_lines[].amount" <- "item_lines[].amount_line": element by element of the source list (the v2 list has
      as many elements as the v3 one);
    - "taxes[].value" <- "payment_information.total_tax": a source outside any list gives a one-element v2 list
      (none when every source of its fields is null).

    A v2 field with no pair stays null (v3 has no such data). Values take the v2 field's type where they can (a
    number where v2 has a string, as receipts' amounts)."""

    each: str
    fields: tuple[tuple[str, str], ...]

    def sources(self) -> tuple[str, ...]:
        """Every v3 path read (the alternatives of "a|b" too), for checks against the documented output."""
        return tuple(alt for _, source in self.fields for alt in source.split("|"))


@dataclass(frozen=True)
class V3Mapping:
    """How one v2 catalog subfeature is called on v3."""

    v2_path: str  # the catalog's "feature/subfeature"
    endpoint: Endpoint | None  # None: no expert model on v3 (an LLM, the v2 base URL or `local` instead)
    v3_path: str | None = None  # the Universal-AI subfeature (endpoint "universal-ai" only)
    renames: tuple[tuple[str, str], ...] = ()  # (v2 name, v3 name); several v2 fields may feed one v3 field
    v2_only: tuple[str, ...] = ()  # v2 request fields that v3 has no place for: refused before any request
    fixed: tuple[tuple[str, Any], ...] = ()  # v3 input values the v2 subfeature implies
    fallbacks: bool = True  # whether fallback providers may be sent on v3
    notes: str = ""
    # v3 runs it through an LLM ("provider/model" on POST /v3/chat/completions, a `_chat.ChatTask` from
    # `_llm_tasks`): endpoint None (no expert model) or "chat" (an LLM task by nature)
    llm: bool = False
    output_map: OutputMap | None = None  # the v3 output's fields differ from v2's: how they map back
    # endpoint "embeddings" only: the rows are ranked against `query` by the similarity of their vectors, computed
    # in the client (semantic search), instead of returned as vectors
    rank: bool = False
    # llm only: parameters v2's schema requires that the LLM path does without (the instruction just has no
    # examples then), so a v3 call may leave them out
    llm_optional: tuple[str, ...] = ()
    # endpoint "embeddings" only: how many rows one request may pack, by provider, where v3 documents more than the
    # catalog's pack (v2's 96); a provider not listed keeps the catalog's. See `pack_size`.
    pack_items: tuple[tuple[str, int], ...] = ()

    def pack_size(self, providers: tuple[str, ...], default: int) -> int:
        """The rows one v3 request packs for these providers ('provider' or 'provider/model'): the smallest of
        their sizes, `default` (the catalog's) for a provider without one."""
        sizes = dict(self.pack_items)
        return min((sizes.get(p.split("/", 1)[0], default) for p in providers), default=default)

    @property
    def subfeature(self) -> V3Subfeature | None:
        return V3_SUBFEATURES.get(self.v3_path) if self.v3_path else None

    @property
    def mode(self) -> Mode:
        sub = self.subfeature
        return sub.mode if sub is not None else "sync"

    @property
    def model_prefix(self) -> str | None:
        """ "audio/tts/" for text to speech: the model string is this plus "provider[/model]"; "" for the
        OpenAI-shaped endpoints ("provider/model"); None where v3 has no model."""
        if self.endpoint is None:
            return None
        return f"{self.v3_path}/" if self.v3_path else ""

    @property
    def v3_required(self) -> tuple[str, ...]:
        """The v3 input fields that must be sent (the v3 names), whatever v2 required."""
        sub = self.subfeature
        return sub.required if sub is not None else ()

    def v3_name(self, v2_name: str) -> str | None:
        """The v3 name of a v2 request field; None when v3 refuses it."""
        if v2_name in self.v2_only or v2_name in V2_ONLY_OPTIONS:
            return None
        for old, new in self.renames:
            if old == v2_name:
                return new
        return v2_name

    def v2_name(self, v3_name: str) -> str:
        """The v2 name of a v3 input field (the first v2 field renamed to it), or the same name."""
        for old, new in self.renames:
            if new == v3_name:
                return old
        return v3_name


# -- output types of v3's own subfeatures (feature pages' Output tables) ---------------------------------------------


def _fields(names: str, t: Type) -> dict[str, Type]:
    return dict.fromkeys(names.split(), t)


BOX = struct(**_fields("left top width height", FLOAT))

SPEECH_TO_TEXT = struct(
    text=STR,
    diarization=struct(
        total_speakers=INT,
        entries=items_of(segment=STR, start_time=STR, end_time=STR, speaker=INT, confidence=FLOAT),
        error_message=STR,
    ),
)
OCR_ASYNC = struct(
    raw_text=STR,
    pages=items_of(
        lines=items_of(
            text=STR,
            words=items_of(text=STR, bounding_box=BOX, confidence=FLOAT),
            bounding_box=BOX,
            confidence=FLOAT,
        )
    ),
    number_of_pages=INT,
)
OCR_TABLES = struct(
    pages=items_of(
        tables=items_of(
            rows=items_of(
                cells=items_of(
                    text=STR,
                    row_index=INT,
                    col_index=INT,
                    row_span=INT,
                    col_span=INT,
                    confidence=FLOAT,
                    bounding_box=BOX,
                    is_header=BOOL,
                )
            ),
            num_rows=INT,
            num_cols=INT,
        )
    ),
    num_pages=INT,
)
TEXT_AI_DETECTION = struct(
    ai_score=FLOAT, items=items_of(text=STR, prediction=STR, ai_score=FLOAT, ai_score_detail=FLOAT)
)
PLAGIA_DETECTION = struct(
    plagia_score=FLOAT,
    items=items_of(text=STR, candidates=items_of(url=STR, plagia_score=FLOAT, prediction=STR, plagiarized_text=STR)),
)
# `prediction` is an "enum" whose values the v3 pages do not list; the v2 OpenAPI (2026-05) gives them for the same
# provider dataclasses (ImageaiDetectionAiDetectionDataClassPredictionEnum, PredictionB20Enum). A label outside
# the list still arrives: the frame keeps it as an extra category.
IMAGE_AI_DETECTION = struct(ai_score=FLOAT, prediction=enum("ai-generated", "original"))
DEEPFAKE_DETECTION = struct(deepfake_score=FLOAT, prediction=enum("deepfake", "original"))
BACKGROUND_REMOVAL = struct(image_b64=STR, image_resource_url=STR)
FACE_COMPARE = struct(items=items_of(confidence=FLOAT, bounding_box=struct(**_fields("top left height width", FLOAT))))
FACE_RECOGNITION = struct(items=items_of(confidence=FLOAT, face_id=STR))
TTS = struct(audio_resource_url=STR)  # v2's base64 `audio` and `voice_type` are gone

FINANCIAL = struct(
    extracted_data=items_of(
        customer_information=struct(
            **_fields(
                "name id_reference mailling_address billing_address shipping_address service_address "  # sic
                "remittance_address email phone vat_number abn_number gst_number pan_number business_number "
                "siret_number siren_number customer_number coc_number fiscal_number registration_number tax_id "
                "website remit_to_name city country house_number province street_name zip_code municipality",
                STR,
            )
        ),
        merchant_information=struct(
            **_fields(
                "name address phone tax_id id_reference vat_number abn_number gst_number business_number "
                "siret_number siren_number pan_number coc_number fiscal_number email fax website registration city "
                "country house_number province street_name zip_code country_code",
                STR,
            )
        ),
        payment_information=struct(
            **_fields(
                "amount_due amount_tip amount_shipping amount_change amount_paid total subtotal total_tax tax_rate "
                "discount gratuity service_charge previous_unpaid_balance prior_balance",
                FLOAT,
            ),
            **_fields("payment_terms payment_method payment_card_number payment_auth_code", STR),
            shipping_handling_charge=FLOAT,
            **_fields("transaction_number transaction_reference", STR),
        ),
        financial_document_information=struct(
            **_fields(
                "invoice_receipt_id purchase_order invoice_date time invoice_due_date service_start_date "
                "service_end_date reference biller_code order_date tracking_number",
                STR,
            ),
            barcodes=items_of(value=STR, type=STR),
        ),
        local=struct(**_fields("currency currency_code currency_exchange_rate country language", STR)),
        bank=struct(**_fields("iban swift bsb sort_code account_number routing_number bic", STR)),
        item_lines=items_of(
            tax=FLOAT,
            amount_line=FLOAT,
            **_fields("description", STR),
            **_fields("quantity unit_price", FLOAT),
            **_fields("unit_type date product_code purchase_order", STR),
            **_fields("tax_rate base_total sub_total discount_amount discount_rate", FLOAT),
            **_fields("discount_code order_number title", STR),
        ),
        document_metadata=struct(document_index=INT, document_page_number=INT, document_type=STR),
    )
)

# -- v3 subfeatures ------------------------------------------------------------------------------------------------


def _text(description: str = "") -> V3Field:
    return V3Field("text", STR, required=True, description=description)


def _file(description: str = "file ID from /v3/upload or direct file URL", required: bool = True) -> V3Field:
    return V3Field("file", STR, required=required, file=True, description=description)


LANGUAGE = V3Field("language", STR, description="ISO 639-1 language code")
DOC_LANGUAGE = V3Field("language", STR, required=True, description="Document language code")
TARGET_LANGUAGE = V3Field("target_language", STR, required=True, description="Target language code")
SOURCE_LANGUAGE = V3Field("source_language", STR, description="Source language code")
DOCUMENT_TYPE = V3Field(
    "document_type",
    enum("auto-detect", "invoice", "receipt"),  # the page says "enum"; values as on v2 (wire-format-v3 4.2)
    description="the type of document; 'auto-detect' where the provider supports it",
)


def _page(name: str) -> str:
    return f"v3-features/{name}.mdx"


_SUBFEATURES: tuple[V3Subfeature, ...] = (
    # text
    V3Subfeature("text/moderation", "sync", (_text(), LANGUAGE), source=_page("text__moderation")),
    V3Subfeature(
        "text/named_entity_recognition", "sync", (_text(), LANGUAGE), source=_page("text__named-entity-recognition")
    ),
    V3Subfeature("text/spell_check", "sync", (_text(), LANGUAGE), source=_page("text__spell-check")),
    V3Subfeature("text/topic_extraction", "sync", (_text(), LANGUAGE), source=_page("text__topic-extraction")),
    V3Subfeature(
        "text/anonymization",
        "sync",
        (_text(), LANGUAGE),
        source="wire-format-v3 5.2 (SKILL-09 only)",
        notes="No feature page; output schema not documented: taken to be v2's.",
    ),
    V3Subfeature(
        "text/ai_detection",
        "sync",
        (_text("Text to analyze for AI detection"),),
        output=TEXT_AI_DETECTION,
        method="detect_ai_text",
        summary="The likelihood that each text was written by an AI, overall and per passage.",
        source=_page("text__ai-detection"),
    ),
    V3Subfeature(
        "text/plagia_detection",
        "sync",
        (
            _text("Text content on which plagiarism detection will be run"),
            V3Field("title", STR, description="Content title"),
        ),
        output=PLAGIA_DETECTION,
        method="detect_plagiarism",
        summary="The plagiarism score of each text, with the passages found elsewhere and where.",
        source=_page("text__plagia-detection"),
    ),
    # translation
    V3Subfeature(
        "translation/automatic_translation",
        "sync",
        (_text(), TARGET_LANGUAGE, SOURCE_LANGUAGE),
        source=_page("translation__automatic-translation"),
    ),
    V3Subfeature(
        "translation/document_translation",
        "sync",
        (_file(), TARGET_LANGUAGE, SOURCE_LANGUAGE),
        source=_page("translation__document-translation"),
    ),
    # ocr
    V3Subfeature("ocr/ocr", "sync", (_file(), DOC_LANGUAGE), source=_page("ocr__ocr")),
    V3Subfeature(
        "ocr/financial_parser",
        "sync",
        (_file(), DOC_LANGUAGE, DOCUMENT_TYPE),
        output=FINANCIAL,
        source=_page("ocr__financial-parser"),
        notes="Replaces v2's invoice_parser and receipt_parser, with its own output fields.",
    ),
    V3Subfeature("ocr/identity_parser", "sync", (_file(),), source=_page("ocr__identity-parser")),
    V3Subfeature("ocr/resume_parser", "sync", (_file(),), source=_page("ocr__resume-parser")),
    V3Subfeature(
        "ocr/ocr_async",
        "async",
        (_file(),),
        output=OCR_ASYNC,
        method="ocr_async",
        summary="The text of each (multi-page) document, page by page and line by line.",
        source=_page("ocr__ocr-async"),
    ),
    V3Subfeature(
        "ocr/ocr_tables_async",
        "async",
        (_file(),),
        output=OCR_TABLES,
        method="ocr_tables",
        summary="The tables of each document, cell by cell.",
        source=_page("ocr__ocr-tables-async"),
    ),
    # image
    *(
        V3Subfeature(f"image/{name}", "sync", (_file(),), source=_page(f"image__{name.replace('_', '-')}"))
        for name in ("object_detection", "face_detection", "logo_detection", "explicit_content", "anonymization")
    ),
    V3Subfeature(
        "image/generation",
        "sync",
        (
            _text("Text prompt for image generation"),
            V3Field("resolution", STR),
            V3Field("num_images", INT),
            V3Field("reference_images", None),
            V3Field("mask", STR, file=True),
        ),
        source=_page("image__generation"),
        notes="The page gives a flat output {image, image_resource_url}; other Eden sources read items[] as on v2 "
        "(wire-format-v3 4.3): clients accept both.",
    ),
    V3Subfeature(
        "image/ai_detection",
        "sync",
        (_file(),),
        output=IMAGE_AI_DETECTION,
        method="detect_ai_image",
        summary="The likelihood that each image was generated by an AI.",
        source=_page("image__ai-detection"),
    ),
    V3Subfeature(
        "image/background_removal",
        "sync",
        (_file(),),
        output=BACKGROUND_REMOVAL,
        method="remove_background",
        summary="Each image with its background removed (base64 content and a download URL).",
        source=_page("image__background-removal"),
    ),
    V3Subfeature(
        "image/deepfake_detection",
        "sync",
        (_file(),),
        output=DEEPFAKE_DETECTION,
        method="detect_deepfake",
        summary="The likelihood that each image is a deepfake.",
        source=_page("image__deepfake-detection"),
    ),
    V3Subfeature(
        "image/face_compare",
        "sync",
        (V3Field("file1", STR, required=True, file=True), V3Field("file2", STR, required=True, file=True)),
        output=FACE_COMPARE,
        source=_page("image__face-compare"),
        notes="Two files per request: no row-per-value method yet.",
    ),
    V3Subfeature(
        "image/face_recognition",
        "sync",
        (V3Field("collection_id", STR, required=True), _file()),
        output=FACE_RECOGNITION,
        fallbacks=False,
        source=_page("image__face-recognition"),
        notes="Needs a face collection (POST /v3/universal-ai/collections): no method yet.",
    ),
    # audio
    V3Subfeature(
        "audio/tts",
        "sync",
        (
            _text("Text to convert to speech"),
            V3Field("voice", STR),
            V3Field("speed", FLOAT),
            V3Field("audio_format", STR),
            V3Field("speaking_pitch", INT),
            V3Field("speaking_volume", INT),
        ),
        output=TTS,
        fallbacks=False,
        source=_page("audio__tts"),
    ),
    V3Subfeature(
        "audio/speech_to_text_async",
        "async",
        (
            _file("Audio file ID from /v3/upload or direct file URL"),
            V3Field("language", STR, description="Language code in ISO format (e.g., 'en', 'fr', 'es')"),
            V3Field("speakers", INT, description="Number of speakers present in the audio"),
            V3Field(
                "profanity_filter",
                BOOL,
                description="Whether to filter profanity and replace inappropriate words with a series of asterisks",
            ),
            V3Field(
                "vocabulary",
                list_of(STR),
                description="List of words or composed words to be detected by the speech to text engine",
            ),
        ),
        output=SPEECH_TO_TEXT,
        method="speech_to_text",
        summary="The transcript of each audio file, with its speakers.",
        source=_page("audio__speech-to-text-async"),
    ),
)

V3_SUBFEATURES: dict[str, V3Subfeature] = {s.path: s for s in _SUBFEATURES}

# -- the financial parser's output as v2's invoice and receipt outputs ----------------------------------------------
# By meaning, field by field: the financial parser page's Output table (v3-features/ocr__financial-parser.mdx) against
# the v2 dataclasses (wire-format 5.5, samples/standardized/ocr__{invoice,receipt}_parser.json). Left null, as v3 has
# nothing that means the same: invoices' bank `vat_number`; receipts' `category`, `receipt_infos` and the payment's
# `card_type` and `cash`.

_CUSTOMER = "customer_information."
_MERCHANT = "merchant_information."
_PAYMENT = "payment_information."
_DOCUMENT = "financial_document_information."
_LINES = "item_lines[]."


def _same(prefix: str, names: str) -> tuple[tuple[str, str], ...]:
    return tuple((prefix + name, prefix + name) for name in names.split())


FINANCIAL_TO_INVOICE = OutputMap(
    each="extracted_data",
    fields=(
        (_CUSTOMER + "customer_name", _CUSTOMER + "name"),
        # v2's one "address" of the customer: the billing address (as Eden's own adapters fill it), else mailing
        (_CUSTOMER + "customer_address", f"{_CUSTOMER}billing_address|{_CUSTOMER}mailling_address"),
        (_CUSTOMER + "customer_email", _CUSTOMER + "email"),
        (_CUSTOMER + "customer_id", f"{_CUSTOMER}customer_number|{_CUSTOMER}id_reference"),
        (_CUSTOMER + "customer_tax_id", _CUSTOMER + "tax_id"),
        (_CUSTOMER + "customer_mailing_address", _CUSTOMER + "mailling_address"),  # sic
        (_CUSTOMER + "customer_billing_address", _CUSTOMER + "billing_address"),
        (_CUSTOMER + "customer_shipping_address", _CUSTOMER + "shipping_address"),
        (_CUSTOMER + "customer_service_address", _CUSTOMER + "service_address"),
        (_CUSTOMER + "customer_remittance_address", _CUSTOMER + "remittance_address"),
        *_same(_CUSTOMER, "abn_number gst_number pan_number vat_number siret_number siren_number"),
        (_MERCHANT + "merchant_name", _MERCHANT + "name"),
        (_MERCHANT + "merchant_address", _MERCHANT + "address"),
        (_MERCHANT + "merchant_phone", _MERCHANT + "phone"),
        (_MERCHANT + "merchant_email", _MERCHANT + "email"),
        (_MERCHANT + "merchant_fax", _MERCHANT + "fax"),
        (_MERCHANT + "merchant_website", _MERCHANT + "website"),
        (_MERCHANT + "merchant_tax_id", _MERCHANT + "tax_id"),
        (_MERCHANT + "merchant_siret", _MERCHANT + "siret_number"),
        (_MERCHANT + "merchant_siren", _MERCHANT + "siren_number"),
        *_same(_MERCHANT, "abn_number gst_number pan_number vat_number"),
        ("invoice_number", _DOCUMENT + "invoice_receipt_id"),
        ("invoice_total", _PAYMENT + "total"),
        ("invoice_subtotal", _PAYMENT + "subtotal"),
        ("gratuity", _PAYMENT + "gratuity"),
        ("amount_due", _PAYMENT + "amount_due"),
        ("previous_unpaid_balance", _PAYMENT + "previous_unpaid_balance"),
        ("discount", _PAYMENT + "discount"),
        ("taxes[].value", _PAYMENT + "total_tax"),
        ("taxes[].rate", _PAYMENT + "tax_rate"),
        ("service_charge", _PAYMENT + "service_charge"),
        ("payment_term", _PAYMENT + "payment_terms"),
        ("purchase_order", _DOCUMENT + "purchase_order"),
        ("date", _DOCUMENT + "invoice_date"),
        ("due_date", _DOCUMENT + "invoice_due_date"),
        ("service_date", _DOCUMENT + "service_start_date"),
        ("service_due_date", _DOCUMENT + "service_end_date"),
        ("po_number", _DOCUMENT + "purchase_order"),
        ("locale.currency", "local.currency_code|local.currency"),  # v2 gave the code ("USD")
        ("locale.language", "local.language"),
        ("bank_informations.account_number", "bank.account_number"),
        ("bank_informations.iban", "bank.iban"),
        ("bank_informations.bsb", "bank.bsb"),
        ("bank_informations.sort_code", "bank.sort_code"),
        ("bank_informations.rooting_number", "bank.routing_number"),  # sic: v2's "rooting"
        ("bank_informations.swift", "bank.swift|bank.bic"),
        *_same(_LINES, "description quantity unit_price product_code tax_rate"),
        (_LINES + "amount", _LINES + "amount_line"),
        (_LINES + "discount", _LINES + "discount_amount"),
        (_LINES + "date_item", _LINES + "date"),
        (_LINES + "tax_item", _LINES + "tax"),
    ),
)

FINANCIAL_TO_RECEIPT = OutputMap(
    each="extracted_data",
    fields=(
        ("invoice_number", _DOCUMENT + "invoice_receipt_id"),
        ("invoice_total", _PAYMENT + "total"),
        ("invoice_subtotal", _PAYMENT + "subtotal"),
        ("barcodes[].value", _DOCUMENT + "barcodes[].value"),
        ("barcodes[].type", _DOCUMENT + "barcodes[].type"),
        ("date", _DOCUMENT + "invoice_date"),
        ("due_date", _DOCUMENT + "invoice_due_date"),
        ("time", _DOCUMENT + "time"),
        (_CUSTOMER + "customer_name", _CUSTOMER + "name"),
        (_MERCHANT + "merchant_name", _MERCHANT + "name"),
        (_MERCHANT + "merchant_address", _MERCHANT + "address"),
        (_MERCHANT + "merchant_phone", _MERCHANT + "phone"),
        (_MERCHANT + "merchant_url", _MERCHANT + "website"),
        (_MERCHANT + "merchant_siret", _MERCHANT + "siret_number"),
        (_MERCHANT + "merchant_siren", _MERCHANT + "siren_number"),
        (_MERCHANT + "merchant_vat_number", _MERCHANT + "vat_number"),
        (_MERCHANT + "merchant_gst_number", _MERCHANT + "gst_number"),
        (_MERCHANT + "merchant_abn_number", _MERCHANT + "abn_number"),
        # strings in v2's receipt, numbers in v3: written as v2 did ("12.5")
        (_PAYMENT + "card_number", _PAYMENT + "payment_card_number"),
        (_PAYMENT + "tip", _PAYMENT + "amount_tip|" + _PAYMENT + "gratuity"),
        (_PAYMENT + "discount", _PAYMENT + "discount"),
        (_PAYMENT + "change", _PAYMENT + "amount_change"),
        ("locale.currency", "local.currency_code|local.currency"),
        ("locale.language", "local.language"),
        ("locale.country", "local.country"),
        ("taxes[].taxes", _PAYMENT + "total_tax"),
        ("taxes[].rate", _PAYMENT + "tax_rate"),
        *_same(_LINES, "description quantity unit_price"),
        (_LINES + "amount", _LINES + "amount_line"),
    ),
)

# -- default embedding models -------------------------------------------------------------------------------------
# /v3/embeddings takes "provider/model" only. The model a bare provider gets, where Eden's documents name one: the
# OpenAPI's example model of EmbeddingsBody.model, which llms__embeddings.mdx names too (a "small" model, "a good
# default for most semantic-search workloads"). No other provider's model is named: a bare one is sent as it is.
EMBEDDING_DEFAULTS: dict[str, str] = {"openai": "text-embedding-3-small"}


# Items per POST /v3/embeddings: OA-06 EmbeddingsBody.input, "Max 2048 items for OpenAI" (the only documented
# limit; other providers keep the catalog's 96, what Cohere's embed endpoint takes and v2 sent).
EMBEDDING_PACKS: tuple[tuple[str, int], ...] = (("openai", 2048),)


def embedding_model(provider: str) -> str:
    """The `model` sent to /v3/embeddings for a provider spec: "openai" -> "openai/text-embedding-3-small"."""
    if "/" in provider or provider not in EMBEDDING_DEFAULTS:
        return provider
    return f"{provider}/{EMBEDDING_DEFAULTS[provider]}"


# -- v2 catalog paths -> v3 ----------------------------------------------------------------------------------------

_FILE = (("file_url", "file"),)
_NO_EXPERT = (
    "No v3 expert model: runs through an LLM ('provider/model', e.g. 'openai/gpt-4o-mini') on POST "
    "/v3/chat/completions with a JSON Schema derived from the output; or the v2 base URL while Eden serves it, or "
    "providers='local'."
)
_CHAT = "OpenAI-shaped POST /v3/chat/completions: the row's text becomes the user message."

_MAPPINGS: tuple[V3Mapping, ...] = (
    V3Mapping("text/sentiment_analysis", None, notes=_NO_EXPERT, llm=True),
    V3Mapping("text/named_entity_recognition", "universal-ai", "text/named_entity_recognition"),
    V3Mapping("text/keyword_extraction", None, notes=_NO_EXPERT, llm=True),
    V3Mapping("text/summarize", None, notes=_NO_EXPERT, llm=True),
    V3Mapping("text/moderation", "universal-ai", "text/moderation"),
    V3Mapping("text/spell_check", "universal-ai", "text/spell_check"),
    V3Mapping("text/anonymization", "universal-ai", "text/anonymization"),
    V3Mapping("text/syntax_analysis", None, notes=_NO_EXPERT, llm=True),
    V3Mapping("text/topic_extraction", "universal-ai", "text/topic_extraction"),
    V3Mapping(
        "text/embeddings",
        "embeddings",
        renames=(("texts", "input"),),
        notes="POST /v3/embeddings, model 'provider/model', list `input`; results matched by data[].index.",
        pack_items=EMBEDDING_PACKS,
    ),
    V3Mapping("text/generation", "chat", renames=(("text", "messages"),), notes=_CHAT, llm=True),
    V3Mapping(
        "text/chat",
        "chat",
        renames=(
            ("text", "messages"),
            ("chatbot_global_action", "messages"),  # the system message
            ("previous_history", "messages"),
        ),
        # tools are not sent through edenframe's chat path (the tool calls would have no column to land in)
        v2_only=("available_tools", "tool_results", "tool_choice"),
        notes=_CHAT + " Tools (available_tools, tool_results, tool_choice) are v2 only in edenframe.",
        llm=True,
    ),
    V3Mapping(
        "text/code_generation",
        "chat",
        renames=(("instruction", "messages"), ("prompt", "messages")),
        notes=_CHAT,
        llm=True,
    ),
    V3Mapping("text/custom_classification", None, notes=_NO_EXPERT, llm=True, llm_optional=("examples",)),
    V3Mapping("text/custom_named_entity_recognition", None, notes=_NO_EXPERT, llm=True),
    V3Mapping("text/question_answer", None, notes=_NO_EXPERT, llm=True, llm_optional=("examples_context", "examples")),
    V3Mapping(
        "text/search",
        "embeddings",
        renames=(("texts", "input"),),
        rank=True,
        # the query goes in the same `input` list as the texts: one item fewer for them
        pack_items=tuple((provider, size - 1) for provider, size in EMBEDDING_PACKS),
        notes="POST /v3/embeddings for the query and the texts (one request per pack, matched by data[].index), "
        "then the similarity in the client. Not v3's web/search (a web search engine).",
    ),
    V3Mapping("translation/automatic_translation", "universal-ai", "translation/automatic_translation"),
    V3Mapping("translation/language_detection", None, notes=_NO_EXPERT, llm=True),
    V3Mapping(
        "translation/document_translation",
        "universal-ai",
        "translation/document_translation",
        renames=_FILE,
        v2_only=("file_password",),
    ),
    V3Mapping("image/object_detection", "universal-ai", "image/object_detection", renames=_FILE),
    V3Mapping("image/face_detection", "universal-ai", "image/face_detection", renames=_FILE),
    V3Mapping("image/logo_detection", "universal-ai", "image/logo_detection", renames=_FILE),
    V3Mapping("image/landmark_detection", None, notes="No v3 expert model (and no LLM fallback planned)."),
    V3Mapping("image/explicit_content", "universal-ai", "image/explicit_content", renames=_FILE),
    V3Mapping("image/anonymization", "universal-ai", "image/anonymization", renames=_FILE),
    V3Mapping("image/generation", "universal-ai", "image/generation"),
    V3Mapping("ocr/ocr", "universal-ai", "ocr/ocr", renames=_FILE, v2_only=("file_password",)),
    V3Mapping(
        "ocr/invoice_parser",
        "universal-ai",
        "ocr/financial_parser",
        renames=_FILE,
        v2_only=("file_password", "convert_to_pdf"),
        fixed=(("document_type", "invoice"),),
        output_map=FINANCIAL_TO_INVOICE,
    ),
    V3Mapping(
        "ocr/receipt_parser",
        "universal-ai",
        "ocr/financial_parser",
        renames=_FILE,
        v2_only=("file_password", "convert_to_pdf"),
        fixed=(("document_type", "receipt"),),
        output_map=FINANCIAL_TO_RECEIPT,
    ),
    V3Mapping(
        "ocr/resume_parser",
        "universal-ai",
        "ocr/resume_parser",
        renames=_FILE,
        v2_only=("file_password", "convert_to_pdf"),
    ),
    V3Mapping(
        "ocr/identity_parser",
        "universal-ai",
        "ocr/identity_parser",
        renames=_FILE,
        v2_only=("file_password", "convert_to_pdf"),
    ),
    V3Mapping(
        "audio/text_to_speech",
        "universal-ai",
        "audio/tts",
        renames=(("pitch", "speaking_pitch"), ("volume", "speaking_volume")),
        # the voice is the model suffix ('audio/tts/google/wavenet') or `voice`; `rate` (a percent change) has
        # no exact v3 twin (`speed` is a multiplier)
        v2_only=("language", "option", "rate", "sampling_rate"),
        fallbacks=False,
        notes="Output is `audio_resource_url` only (no base64 `audio`): save_to downloads it.",
    ),
)

V3_MAPPINGS: dict[str, V3Mapping] = {m.v2_path: m for m in _MAPPINGS}


def v3_mapping(v2_path: str) -> V3Mapping:
    """The v3 form of a v2 catalog path ("audio/text_to_speech"); KeyError for a path the catalog lacks."""
    return V3_MAPPINGS[v2_path]


def v3_subfeature(path: str) -> V3Subfeature | None:
    """The v3 Universal-AI subfeature "feature/subfeature" (v3 naming), or None."""
    return V3_SUBFEATURES.get(path)


def v2_paths_of(v3_path: str) -> tuple[str, ...]:
    """The v2 catalog paths a v3 subfeature serves ("ocr/financial_parser": invoice and receipt parsing)."""
    return tuple(m.v2_path for m in _MAPPINGS if m.v3_path == v3_path)


def split_model(model: str) -> tuple[str, str, str] | None:
    """("feature/subfeature", "provider", "model or ''") of a Universal-AI model string, or None when it has
    fewer than three segments. Everything after the provider is the provider's model, slashes included."""
    parts = model.split("/", 3)
    if len(parts) < 3 or not all(p.strip() for p in parts[:3]):
        return None
    return f"{parts[0]}/{parts[1]}", parts[2], parts[3] if len(parts) == 4 else ""


def models_of(path: str) -> tuple[ModelPrice, ...]:
    """The documented models of a v3 subfeature (empty for one without a feature page)."""
    return V3_MODELS.get(path, ())


# -- documented models and prices (feature pages' "Available Providers" tables, 2026-08-22) --------------------------

V3_MODELS: dict[str, tuple[ModelPrice, ...]] = {
    "audio/speech_to_text_async": (
        ModelPrice("amazon", 0.024, 60, "second"),
        ModelPrice("assembly", 0.011, 60, "second"),
        ModelPrice("deepgram/base", 0.0169, 60, "second"),
        ModelPrice("deepgram", 0.0189, 60, "second"),
        ModelPrice("deepgram/enhanced", 0.0189, 60, "second"),
        ModelPrice("deepgram/nova-3", 0.0052, 60, "second"),
        ModelPrice("gladia", 0.0102, 60, "second"),
        ModelPrice("google", 0.024, 60, "second"),
        ModelPrice("microsoft", 0.0168, 60, "second"),
        ModelPrice("openai", 0.006, 60, "second"),
    ),
    "audio/tts": (
        ModelPrice("amazon/neural", 0.016, 1000, "char"),
        ModelPrice("amazon/standard", 0.004, 1000, "char"),
        ModelPrice("deepgram/aura", 0.015, 1000, "char"),
        ModelPrice("deepgram/aura-2", 0.03, 1000, "char"),
        ModelPrice("elevenlabs", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_flash_v2", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_flash_v2_5", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_multilingual_v2", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_turbo_v2", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_turbo_v2_5", 0.3, 1000, "char"),
        ModelPrice("elevenlabs/eleven_v3", 0.3, 1000, "char"),
        ModelPrice("google/casual", 16.0, 1000000, "char"),
        ModelPrice("google/chirp3-hd", 30.0, 1000000, "char"),
        ModelPrice("google/chirp-hd", 30.0, 1000000, "char"),
        ModelPrice("google/gemini-2.5-flash-tts", 0.006, 1, "minute"),
        ModelPrice("google/gemini-2.5-pro-tts", 0.012, 1, "minute"),
        ModelPrice("google/gemini-3.1-flash-tts-preview", 0.012, 1, "minute"),
        ModelPrice("google/neural2", 16.0, 1000000, "char"),
        ModelPrice("google/news", 160.0, 1000000, "char"),
        ModelPrice("google/polyglot", 16.0, 1000000, "char"),
        ModelPrice("google/standard", 4.0, 1000000, "char"),
        ModelPrice("google/studio", 160.0, 1000000, "char"),
        ModelPrice("google/wavenet", 4.0, 1000000, "char"),
        ModelPrice("lovoai", 160.0, 1000000, "char"),
        ModelPrice("microsoft/neural", 16.0, 1000000, "char"),
        ModelPrice("microsoft/neural-hd", 30.0, 1000000, "char"),
        ModelPrice("openai/gpt-4o-mini-tts", 0.015, 1, "minute"),
        ModelPrice("openai/tts-1", 15.0, 1000000, "char"),
        ModelPrice("openai/tts-1-hd", 30.0, 1000000, "char"),
    ),
    "image/ai_detection": (
        ModelPrice("resemble", 0.04, 1, "request"),
        ModelPrice("winstonai", 0.0145, 1, "image"),
    ),
    "image/anonymization": (ModelPrice("api4ai", 25.0, 1000, "file"),),
    "image/background_removal": (
        ModelPrice("api4ai", 50.0, 1000, "file"),
        ModelPrice("clipdrop", 0.5, 1, "request"),
        ModelPrice("photoroom", 20.0, 1000, "file"),
        ModelPrice("picsart", 0.04, 1, "image"),
        ModelPrice("sentisight", 0.75, 1000, "file"),
        ModelPrice("stabilityai", 0.02, 1, "request"),
    ),
    "image/deepfake_detection": (
        ModelPrice("resemble", 0.04, 1, "image"),
        ModelPrice("sightengine", 0.0145, 1, "image"),
    ),
    "image/explicit_content": (
        ModelPrice("amazon", 1.0, 1000, "file"),
        ModelPrice("google", 1.5, 1000, "file"),
        ModelPrice("microsoft", 1.0, 1000, "file"),
        ModelPrice("openai", 24.0, 1000, "file"),
        ModelPrice("openai/gpt-4o", 24.0, 1000, "file"),
        ModelPrice("sentisight", 0.75, 1000, "file"),
    ),
    "image/face_compare": (
        ModelPrice("amazon", 1.0, 1000, "request"),
        ModelPrice("base64", 0.25, 1, "request"),
        ModelPrice("facepp", 2.0, 1000, "request"),
    ),
    "image/face_detection": (
        ModelPrice("amazon", 1.0, 1000, "file"),
        ModelPrice("api4ai", 0.75, 1000, "file"),
        ModelPrice("google", 1.5, 1000, "file"),
    ),
    "image/face_recognition": (ModelPrice("amazon", 1.0, 1000, "file"),),
    "image/generation": (
        ModelPrice("bytedance", 0.03, 1, "request"),
        ModelPrice("bytedance/seedream-3-0-t2i-250415", 0.03, 1, "request"),
        ModelPrice("bytedance/seedream-4-0-250828", 0.03, 1, "request"),
        ModelPrice("bytedance/seedream-4-5-251128", 0.03, 1, "request"),
        ModelPrice("bytedance/seedream-5-0-260128", 0.035, 1, "image"),
        ModelPrice("google", 0.04, 1, "image"),
        ModelPrice("google/gemini-2.5-flash-image", 0.039, 1, "image"),
        ModelPrice("google/gemini-3-pro-image-preview", 0.039, 1, "image"),
        ModelPrice("google/imagen-3.0-capability-001", 0.04, 1, "image"),
        ModelPrice("google/imagen-3.0-fast-generate-001", 0.02, 1, "image"),
        ModelPrice("google/imagen-3.0-generate-001", 0.04, 1, "image"),
        ModelPrice("google/imagen-3.0-generate-002", 0.04, 1, "image"),
        ModelPrice("google/imagen-4.0-fast-generate-001", 0.02, 1, "image"),
        ModelPrice("google/imagen-4.0-generate-001", 0.04, 1, "image"),
        ModelPrice("google/imagen-4.0-ultra-generate-001", 0.06, 1, "image"),
        ModelPrice("leonardo/AlbedoBase XL", 0.017, 1, "image"),
        ModelPrice("leonardo", 0.014, 1, "image"),
        ModelPrice("leonardo/Leonardo Anime XL", 0.012, 1, "image"),
        ModelPrice("leonardo/Leonardo Diffusion XL", 0.017, 1, "image"),
        ModelPrice("leonardo/Leonardo Kino XL", 0.014, 1, "image"),
        ModelPrice("leonardo/Leonardo Lightning XL", 0.012, 1, "image"),
        ModelPrice("leonardo/Leonardo Phoenix", 0.014, 1, "image"),
        ModelPrice("leonardo/Leonardo Vision XL", 0.017, 1, "image"),
        ModelPrice("leonardo/SDXL 0.9", 0.017, 1, "image"),
        ModelPrice("minimax", 0.0035, 1, "image"),
        ModelPrice("minimax/image-01", 0.0035, 1, "image"),
        ModelPrice("openai", 0.034, 1, "image"),
        ModelPrice("openai/gpt-image-1", 0.042, 1, "image"),
        ModelPrice("openai/gpt-image-1.5", 0.034, 1, "image"),
        ModelPrice("openai/gpt-image-1-mini", 0.011, 1, "image"),
        ModelPrice("openai/gpt-image-2", 0.053, 1, "image"),
        ModelPrice("replicate/anime-style", 0.000225, 1, "exec_time"),
        ModelPrice("replicate/classic", 0.00115, 1, "exec_time"),
        ModelPrice("replicate", 0.000225, 1, "exec_time"),
        ModelPrice("replicate/vintedois-diffusion", 0.000225, 1, "exec_time"),
        ModelPrice("stabilityai", 15.0, 1000, "image"),
        ModelPrice("stabilityai/stable-diffusion-xl-1024-v1-0", 15.0, 1000, "image"),
    ),
    "image/logo_detection": (
        ModelPrice("api4ai", 0.25, 1000, "file"),
        ModelPrice("api4ai/v1", 0.25, 1000, "file"),
        ModelPrice("api4ai/v2", 2.5, 1000, "file"),
        ModelPrice("google", 1.5, 1000, "file"),
        ModelPrice("microsoft", 1.0, 1000, "file"),
        ModelPrice("openai", 24.0, 1000, "file"),
        ModelPrice("openai/gpt-4o", 24.0, 1000, "file"),
        ModelPrice("openai/gpt-4-turbo", 48.0, 1000, "file"),
    ),
    "image/object_detection": (
        ModelPrice("amazon", 1.0, 1000, "file"),
        ModelPrice("api4ai", 0.5, 1000, "file"),
        ModelPrice("google", 2.25, 1000, "file"),
        ModelPrice("microsoft", 1.0, 1000, "file"),
        ModelPrice("sentisight", 0.75, 1000, "file"),
    ),
    "ocr/financial_parser": (
        ModelPrice("affinda", 0.07, 1, "page"),
        ModelPrice("amazon", 0.01, 1, "page"),
        ModelPrice("base64", 0.25, 1, "page"),
        ModelPrice("eagledoc", 0.03, 1, "page"),
        ModelPrice("extracta", 0.1, 1, "page"),
        ModelPrice("google", 0.01, 1, "page"),
        ModelPrice("klippa", 0.1, 1, "file"),
        ModelPrice("microsoft", 0.01, 1, "page"),
        ModelPrice("mindee", 0.1, 1, "page"),
        ModelPrice("openai", 0.04, 1, "page"),
        ModelPrice("openai/gpt-4o", 0.04, 1, "page"),
        ModelPrice("tabscanner", 0.08, 1, "page"),
        ModelPrice("veryfi", 0.16, 1, "file"),
    ),
    "ocr/identity_parser": (
        ModelPrice("affinda", 0.07, 1, "file"),
        ModelPrice("amazon", 0.025, 1, "page"),
        ModelPrice("base64", 0.2, 1, "page"),
        ModelPrice("klippa", 0.1, 1, "file"),
        ModelPrice("microsoft", 0.01, 1, "page"),
        ModelPrice("mindee", 0.1, 1, "page"),
        ModelPrice("openai", 0.02, 1, "page"),
        ModelPrice("openai/gpt-4o", 0.02, 1, "page"),
    ),
    "ocr/ocr_async": (
        ModelPrice("amazon", 1.5, 1000, "page"),
        ModelPrice("microsoft", 10.0, 1000, "page"),
        ModelPrice("mistral", 1.0, 1000, "page"),
    ),
    "ocr/ocr_tables_async": (
        ModelPrice("amazon", 15.0, 1000, "page"),
        ModelPrice("google", 65.0, 1000, "page"),
        ModelPrice("microsoft", 10.0, 1000, "page"),
    ),
    "ocr/ocr": (
        ModelPrice("amazon", 1.5, 1000, "page"),
        ModelPrice("api4ai", 3.0, 1000, "request"),
        ModelPrice("google", 1.5, 1000, "page"),
        ModelPrice("microsoft", 1.0, 1000, "page"),
        ModelPrice("mistral", 1.0, 1000, "page"),
        ModelPrice("sentisight", 0.75, 1000, "file"),
    ),
    "ocr/resume_parser": (
        ModelPrice("affinda", 0.07, 1, "file"),
        ModelPrice("extracta", 0.1, 1, "page"),
        ModelPrice("klippa", 0.1, 1, "file"),
        ModelPrice("openai", 0.04, 1, "page"),
        ModelPrice("openai/gpt-4o", 0.04, 1, "page"),
        ModelPrice("senseloaf", 0.045, 1, "file"),
    ),
    "text/ai_detection": (
        ModelPrice("sapling", 5.0, 1000000, "char"),
        ModelPrice("winstonai", 14.0, 1000000, "char"),
    ),
    "text/moderation": (
        ModelPrice("google", 5.0, 1000000, "char"),
        ModelPrice("microsoft", 1.0, 1000, "request"),
        ModelPrice("openai", 0.0, 1, "free"),
        ModelPrice("openai/text-moderation-007", 0.0, 1, "free"),
        ModelPrice("openai/text-moderation-latest", 0.0, 1, "free"),
        ModelPrice("openai/text-moderation-stable", 0.0, 1, "free"),
    ),
    "text/named_entity_recognition": (
        ModelPrice("amazon", 1.0, 1000000, "char"),
        ModelPrice("microsoft", 1.0, 1000000, "char"),
        ModelPrice("openai", 10.0, 1000000, "token"),
        ModelPrice("openai/gpt-4o", 10.0, 1000000, "token"),
        ModelPrice("tenstorrent", 1.0, 1000000, "char"),
    ),
    "text/plagia_detection": (ModelPrice("winstonai", 14.0, 1000000, "char"),),
    "text/spell_check": (
        ModelPrice("prowritingaid", 10.0, 1000, "request"),
        ModelPrice("sapling", 2.0, 1000000, "char"),
    ),
    "text/topic_extraction": (
        ModelPrice("google", 0.6, 1000000, "char"),
        ModelPrice("openai", 10.0, 1000000, "token"),
        ModelPrice("openai/gpt-4o", 10.0, 1000000, "token"),
        ModelPrice("tenstorrent", 2.0, 1000000, "char"),
    ),
    "translation/automatic_translation": (
        ModelPrice("amazon", 15.0, 1000000, "char"),
        ModelPrice("deepl", 20.0, 1000000, "char"),
        ModelPrice("google", 20.0, 1000000, "char"),
        ModelPrice("microsoft", 10.0, 1000000, "char"),
        ModelPrice("modernmt", 8.0, 1000000, "char"),
        ModelPrice("openai", 20.0, 1000000, "char"),
        ModelPrice("openai/gpt-4o", 20.0, 1000000, "token"),
    ),
    "translation/document_translation": (
        ModelPrice("deepl", 2.0, 20, "page"),
        ModelPrice("google", 0.08, 1, "page"),
    ),
}
