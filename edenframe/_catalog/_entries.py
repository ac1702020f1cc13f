"""The 33 Eden AI v2 subfeatures as data.

Request fields and output schemas follow `eden-api/wire-format.md` section 5 (Eden AI's standardized dataclasses in
edenai-apis). Output number types come from those dataclasses, not from the OpenAPI response schemas, which type
scores and coordinates as "integer" although real outputs are floats (pyarrow would silently truncate them).

Request fields: the 2026 full spec where the subfeature is still there, else the 2024 text spec, else (invoice and
receipt parsers) the 2025 OCR spec as summarized in wire-format section 5.5. Provider lists are wire-format 6.1
column 2 (the provider keys of each response schema) and are documentation only.
"""

from __future__ import annotations

from .._schema import BOOL, FLOAT, INT, STR, Embedding, Mapping, Type, enum, items_of, list_of, struct
from ._model import Media, Pack, Param, Subfeature


def words(text: str) -> tuple[str, ...]:
    """`words("google openai")`: a tuple of names written as one string (provider lists, field names)."""
    return tuple(text.split())


# --- shared request parameters -------------------------------------------------------------------------------------

LANGUAGE = Param(
    "language",
    STR,
    nullable=True,
    description="ISO 639-1 code such as 'en', or None to let the provider detect it",
    format="language",
)
SOURCE_LANGUAGE = Param(
    "source_language",
    STR,
    nullable=True,
    description="language code of the input ('en', 'zh'), None to detect it",
    format="language",
)
TARGET_LANGUAGE = Param(
    "target_language", STR, required=True, description="language code to translate into ('fr')", format="language"
)
FILE_PASSWORD = Param(
    "file_password", STR, nullable=True, description="password of a protected PDF (at most 200 characters)"
)
CONVERT_TO_PDF = Param(
    "convert_to_pdf", BOOL, default=False, nullable=True, description="convert doc/docx files to PDF before parsing"
)
MAX_TOKENS = Param("max_tokens", INT, default=1000, minimum=1, description="upper bound on generated tokens")
EXAMPLE_PAIRS = list_of(list_of(STR))  # [[text, label], ...] or [[question, answer], ...]


def temperature(maximum: float) -> Param:
    return Param(
        "temperature", FLOAT, default=0.0, minimum=0, maximum=maximum, description="sampling temperature, 0 = greedy"
    )


# --- shared output types -------------------------------------------------------------------------------------------

SENTIMENT = enum("Positive", "Negative", "Neutral")

# Anonymization entity categories: a closed enum in edenai-apis (subcategories are open-ended: kept as strings).
PII_CATEGORY = enum(
    "PersonalInformation",
    "FinancialInformation",
    "IdentificationNumbers",
    "Miscellaneous",
    "OrganizationInformation",
    "DateAndTime",
    "LocationInformation",
    "Other",
)

# text/moderation and image/explicit_content items. `category` stays a string: its enum differs between spec versions.
NSFW_ITEM = struct(label=STR, likelihood=INT, likelihood_score=FLOAT, category=STR, subcategory=STR)
NSFW_OUTPUT = struct(nsfw_likelihood=INT, nsfw_likelihood_score=FLOAT, items=list_of(NSFW_ITEM))

BOX = struct(x_min=FLOAT, x_max=FLOAT, y_min=FLOAT, y_max=FLOAT)  # relative coordinates

GENERATED_TEXT = struct(generated_text=STR)

TOOL = struct(name=STR, description=STR, parameters=Mapping())  # `parameters` is a JSON Schema object
TOOL_CALL = struct(id=STR, name=STR, arguments=STR).requiring("id", "name", "arguments")

FACE_LANDMARKS = words(
    """
    left_eye left_eye_top left_eye_right left_eye_bottom left_eye_left right_eye right_eye_top right_eye_right
    right_eye_bottom right_eye_left left_eyebrow_left left_eyebrow_right left_eyebrow_top right_eyebrow_left
    right_eyebrow_right left_pupil right_pupil nose_tip nose_bottom_right nose_bottom_left mouth_left mouth_right
    right_eyebrow_top midpoint_between_eyes nose_bottom_center nose_left_alar_out_tip nose_left_alar_top
    nose_right_alar_out_tip nose_right_alar_top nose_root_left nose_root_right upper_lip under_lip under_lip_bottom
    under_lip_top upper_lip_bottom upper_lip_top mouth_center mouth_top mouth_bottom left_ear_tragion
    right_ear_tragion forehead_glabella chin_gnathion chin_left_gonion chin_right_gonion upper_jawline_left
    mid_jawline_left mid_jawline_right upper_jawline_right left_cheek_center right_cheek_center
    """
)


def fields_of(names: str, t: Type) -> dict[str, Type]:
    """`fields_of("a b c", STR)`: several fields of one type, in the order given."""
    return dict.fromkeys(words(names), t)


FACE = struct(
    confidence=FLOAT,
    landmarks=struct(**dict.fromkeys(FACE_LANDMARKS, list_of(FLOAT))),  # each an [x, y] pair or empty
    emotions=struct(**fields_of("joy sorrow anger surprise disgust fear confusion calm unknown neutral contempt", INT)),
    poses=struct(**fields_of("pitch roll yaw", FLOAT)),
    age=FLOAT,
    gender=STR,
    bounding_box=BOX,
    hair=struct(hair_color=items_of(color=STR, confidence=FLOAT), bald=FLOAT, invisible=BOOL),
    facial_hair=struct(**fields_of("moustache beard sideburns", FLOAT)),
    quality=struct(**fields_of("noise exposure blur brightness sharpness", FLOAT)),
    makeup=struct(eye_make=BOOL, lip_make=BOOL),
    accessories=struct(**fields_of("sunglasses reading_glasses swimming_goggles face_mask eyeglasses headwear", FLOAT)),
    occlusions=struct(**fields_of("eye_occluded forehead_occluded mouth_occluded", BOOL)),
    features=struct(**fields_of("eyes_open smile mouth_open", FLOAT)),
)

INVOICE = struct(
    customer_information=struct(
        **fields_of(
            "customer_name customer_address customer_email customer_id customer_tax_id customer_mailing_address "
            "customer_billing_address customer_shipping_address customer_service_address customer_remittance_address "
            "abn_number gst_number pan_number vat_number siret_number siren_number",
            STR,
        )
    ),
    merchant_information=struct(
        **fields_of(
            "merchant_name merchant_address merchant_phone merchant_email merchant_fax merchant_website "
            "merchant_tax_id merchant_siret merchant_siren abn_number gst_number pan_number vat_number",
            STR,
        )
    ),
    invoice_number=STR,
    **fields_of("invoice_total invoice_subtotal gratuity amount_due previous_unpaid_balance discount", FLOAT),
    taxes=items_of(value=FLOAT, rate=FLOAT),
    service_charge=FLOAT,
    **fields_of("payment_term purchase_order date due_date service_date service_due_date po_number", STR),
    locale=struct(currency=STR, language=STR),
    bank_informations=struct(
        **fields_of("account_number iban bsb sort_code vat_number rooting_number swift", STR)  # sic: "rooting"
    ),
    item_lines=items_of(
        description=STR,
        quantity=FLOAT,
        amount=FLOAT,
        unit_price=FLOAT,
        discount=FLOAT,
        product_code=STR,
        date_item=STR,
        tax_item=FLOAT,
        tax_rate=FLOAT,
    ),
)

RECEIPT = struct(
    invoice_number=STR,
    invoice_total=FLOAT,
    invoice_subtotal=FLOAT,
    barcodes=items_of(value=STR, type=STR),
    **fields_of("category date due_date time", STR),
    customer_information=struct(customer_name=STR),
    merchant_information=struct(
        **fields_of(
            "merchant_name merchant_address merchant_phone merchant_url merchant_siret merchant_siren "
            "merchant_vat_number merchant_gst_number merchant_abn_number",
            STR,
        )
    ),
    # strings in Eden's dataclass, amounts included
    payment_information=struct(**fields_of("card_type card_number cash tip discount change", STR)),
    locale=struct(currency=STR, language=STR, country=STR),
    taxes=items_of(taxes=FLOAT, rate=FLOAT),
    receipt_infos=Mapping(),
    item_lines=items_of(description=STR, quantity=FLOAT, amount=FLOAT, unit_price=FLOAT),
)

RESUME_LOCATION = struct(
    **fields_of(
        "formatted_location postal_code region country country_code raw_input_location street street_number "
        "appartment_number city",  # sic: "appartment"
        STR,
    )
)
RESUME_SKILL = struct(name=STR, type=STR)  # also certifications, courses, publications, interests
RESUME = struct(
    personal_infos=struct(
        name=struct(**fields_of("first_name last_name raw_name middle title prefix sufix", STR)),  # sic: "sufix"
        address=RESUME_LOCATION,
        **fields_of("self_summary objective date_of_birth place_of_birth", STR),
        **fields_of("phones mails urls fax", list_of(STR)),
        **fields_of("current_profession gender nationality martial_status current_salary availability", STR),
    ),
    education=struct(
        total_years_education=INT,
        entries=items_of(
            **fields_of("title start_date end_date", STR),
            location=RESUME_LOCATION,
            **fields_of("establishment description gpa accreditation", STR),
        ),
    ),
    work_experience=struct(
        total_years_experience=STR,  # a string in Eden's dataclass
        entries=items_of(
            **fields_of("title start_date end_date company", STR),
            location=RESUME_LOCATION,
            **fields_of("description type industry", STR),
        ),
    ),
    languages=items_of(name=STR, code=STR),
    **fields_of("skills certifications courses publications interests", list_of(RESUME_SKILL)),
)

ID_FIELD = struct(value=STR, confidence=FLOAT)  # every identity field: the value (a string, even `age`) + confidence
IDENTITY = struct(
    last_name=ID_FIELD,
    given_names=list_of(ID_FIELD),
    **fields_of("birth_place birth_date issuance_date expire_date document_id issuing_state address age", ID_FIELD),
    country=struct(name=STR, alpha2=STR, alpha3=STR, confidence=FLOAT),
    document_type=ID_FIELD,
    gender=ID_FIELD,
    image_id=list_of(ID_FIELD),
    image_signature=list_of(ID_FIELD),
    mrz=ID_FIELD,
    nationality=ID_FIELD,
)


# --- the entries ---------------------------------------------------------------------------------------------------

ENTRIES: tuple[Subfeature, ...] = (
    # text
    Subfeature(
        path="text/sentiment_analysis",
        method="sentiment",
        summary="Overall and per-sentence sentiment (Positive, Negative, Neutral) of each text.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(
            general_sentiment=SENTIMENT,
            general_sentiment_rate=FLOAT,
            items=items_of(segment=STR, sentiment=SENTIMENT, sentiment_rate=FLOAT),
        ),
        providers=words("amazon emvista google ibm microsoft oneai openai sapling tenstorrent xai"),
    ),
    Subfeature(
        path="text/named_entity_recognition",
        method="ner",
        summary="The named entities of each text, with their category and importance.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(items=items_of(entity=STR, category=STR, importance=FLOAT)),
        providers=words("amazon google microsoft oneai openai tenstorrent xai"),
    ),
    Subfeature(
        path="text/keyword_extraction",
        method="keywords",
        summary="The keywords of each text, with their importance.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(items=items_of(keyword=STR, importance=FLOAT)),
        providers=words("amazon corticalio emvista microsoft oneai openai tenstorrent xai"),
    ),
    Subfeature(
        path="text/summarize",
        method="summarize",
        summary="A summary of each text.",
        input_field="text",
        input_kind="text",
        params=(
            LANGUAGE,
            Param("output_sentences", INT, default=1, minimum=1, description="number of sentences in the summary"),
        ),
        output=struct(result=STR),
        providers=words("alephalpha anthropic cohere emvista meaningcloud microsoft oneai openai writesonic xai"),
    ),
    Subfeature(
        path="text/moderation",
        method="moderate",
        summary="The NSFW likelihood (0 to 5) and score of each text, with the flagged categories.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=NSFW_OUTPUT,
        providers=words("google microsoft openai"),
    ),
    Subfeature(
        path="text/spell_check",
        method="spell_check",
        summary="The spelling mistakes of each text, with their position and suggested corrections.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(
            text=STR,
            items=items_of(
                text=STR,
                type=STR,
                offset=INT,
                length=INT,
                suggestions=items_of(suggestion=STR, score=FLOAT),
            ),
        ),
        providers=words("cohere microsoft openai prowritingaid sapling xai"),
    ),
    Subfeature(
        path="text/anonymization",
        method="anonymize",
        summary="Each text with its personal data masked, and the entities that were masked.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(
            result=STR,
            entities=items_of(
                offset=INT,
                length=INT,
                category=PII_CATEGORY,
                subcategory=STR,
                original_label=STR,
                content=STR,
                confidence_score=FLOAT,
            ),
        ),
        providers=words("amazon emvista microsoft oneai openai privateai xai"),
    ),
    Subfeature(
        path="text/syntax_analysis",
        method="syntax",
        summary="The words of each text with their part-of-speech tag, lemma and other features.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(items=items_of(word=STR, importance=FLOAT, tag=STR, lemma=STR, others=Mapping())),
        providers=words("amazon eden-ai emvista google ibm lettria"),
        notes="Absent from Eden AI's 2026 schema (likely deprecated).",
    ),
    Subfeature(
        path="text/topic_extraction",
        method="topics",
        summary="The topics (categories) of each text, with their importance.",
        input_field="text",
        input_kind="text",
        params=(LANGUAGE,),
        output=struct(items=items_of(category=STR, importance=FLOAT)),
        providers=words("google openai tenstorrent xai"),
    ),
    Subfeature(
        path="text/embeddings",
        method="embed",
        summary="A vector embedding of each text.",
        input_field="texts",
        input_kind="texts",
        params=(
            Param(
                "dimensions",
                INT,
                nullable=True,
                minimum=1,
                description="length of the vectors, for models that allow it",
            ),
        ),
        output=struct(items=items_of(embedding=Embedding())),
        pack=Pack(max_items=96),
        providers=words("ai21labs cohere google iointelligence jina mistral openai"),
    ),
    Subfeature(
        path="text/generation",
        method="generate",
        summary="The text generated from each prompt.",
        input_field="text",
        input_kind="text",
        params=(temperature(1), MAX_TOKENS),
        output=GENERATED_TEXT,
        providers=words("ai21labs amazon anthropic clarifai cohere google meta mistral openai"),
        notes="Absent from Eden AI's 2026 schema (likely deprecated); text/chat covers it.",
    ),
    Subfeature(
        path="text/chat",
        method="chat",
        summary="The assistant's reply to each message, and the exchanged messages.",
        input_field="text",
        input_kind="text",
        params=(
            Param(
                "chatbot_global_action", STR, default="", nullable=True, description="system prompt for the assistant"
            ),
            Param(
                "previous_history",
                list_of(
                    struct(
                        role=enum("user", "assistant"),
                        message=STR,
                        tools=list_of(TOOL),
                        tool_calls=list_of(TOOL_CALL),
                    ).requiring("role", "message")
                ),
                description="earlier turns of the conversation, oldest first",
            ),
            temperature(2),
            Param("max_tokens", INT, default=4096, minimum=1, description="upper bound on generated tokens"),
            Param(
                "tool_choice",
                enum("auto", "required", "none"),
                default="auto",
                description="whether the model may, must or must not call a tool",
            ),
            Param("available_tools", list_of(TOOL), description="tools (functions) the model may call"),
            Param(
                "tool_results",
                list_of(struct(id=STR, result=STR).requiring("id", "result")),
                description="results of earlier tool calls, by id",
            ),
            Param("reasoning_effort", enum("low", "medium", "high"), description="reasoning depth, for models with it"),
        ),
        output=struct(
            generated_text=STR,
            message=items_of(role=STR, message=STR, tools=list_of(Mapping()), tool_calls=list_of(TOOL_CALL)),
        ),
        providers=words(
            "amazon anthropic cohere deepseek google groq meta microsoft mistral openai perplexityai replicate "
            "together_ai xai"
        ),
    ),
    Subfeature(
        path="text/code_generation",
        method="generate_code",
        summary="The code generated for each instruction.",
        input_field="instruction",
        input_kind="text",
        params=(
            Param("prompt", STR, default="", nullable=True, description="source code given as context"),
            temperature(1),
            MAX_TOKENS,
        ),
        output=GENERATED_TEXT,
        providers=words("google openai xai"),
    ),
    Subfeature(
        path="text/custom_classification",
        method="classify",
        summary="The label (one of `labels`) of each text, with its confidence.",
        input_field="texts",
        input_kind="texts",
        params=(
            Param("labels", list_of(STR), required=True, description="the labels to choose from"),
            Param("examples", EXAMPLE_PAIRS, required=True, description="labelled examples as [text, label] pairs"),
        ),
        output=struct(classifications=items_of(input=STR, label=STR, confidence=FLOAT)),
        pack=Pack(max_items=96, items_field="classifications", drop=("input",)),
        providers=words("cohere openai"),
        notes="Absent from Eden AI's 2026 schema (likely deprecated).",
    ),
    Subfeature(
        path="text/custom_named_entity_recognition",
        method="extract_entities",
        summary="The entities of the requested categories found in each text.",
        input_field="text",
        input_kind="text",
        params=(
            Param("entities", list_of(STR), required=True, description="entity categories to extract (at least 2)"),
            Param(
                "examples",
                list_of(struct(text=STR, entities=items_of(entity=STR, category=STR))),
                description="annotated example texts",
            ),
        ),
        output=struct(items=items_of(entity=STR, category=STR)),
        providers=words("cohere eden-ai openai"),
        notes="Absent from Eden AI's 2026 schema (likely deprecated).",
    ),
    Subfeature(
        path="text/question_answer",
        method="answer",
        summary="The answers to `question` found in each text.",
        input_field="texts",
        input_kind="texts",
        params=(
            Param("question", STR, required=True, description="the question to answer from the text"),
            Param("examples_context", STR, required=True, description="an example context text"),
            Param("examples", EXAMPLE_PAIRS, required=True, description="[question, answer] pairs about that context"),
            temperature(1),
        ),
        output=struct(answers=list_of(STR)),
        pack=Pack(max_items=1, items_field=None),
        providers=words("eden-ai openai tenstorrent"),
        notes="Answers do not map one-to-one to texts, so each row is its own request. "
        "Absent from Eden AI's 2026 schema (likely deprecated).",
    ),
    Subfeature(
        path="text/search",
        method="search",
        summary="The similarity score of each text to `query`.",
        input_field="texts",
        input_kind="texts",
        params=(
            Param("query", STR, required=True, description="the text to compare every row with"),
            Param(
                "similarity_metric",
                enum("cosine", "manhattan", "euclidean"),
                default="cosine",
                description="how embeddings are compared",
            ),
        ),
        output=struct(items=items_of(object=STR, document=INT, score=FLOAT)),
        pack=Pack(max_items=96, items_field="items", index_field="document", drop=("object",)),
        providers=words("cohere google openai"),
        notes="Items come back sorted by score; `document` is the index into `texts`. "
        "Absent from Eden AI's 2026 schema (likely deprecated).",
    ),
    # translation
    Subfeature(
        path="translation/automatic_translation",
        method="translate",
        summary="Each text translated into `target_language`.",
        input_field="text",
        input_kind="text",
        params=(SOURCE_LANGUAGE, TARGET_LANGUAGE),
        output=struct(text=STR),
        providers=words("amazon deepl google microsoft modernmt openai xai"),
    ),
    Subfeature(
        path="translation/language_detection",
        method="detect_language",
        summary="The language(s) of each text, with their confidence.",
        input_field="text",
        input_kind="text",
        output=struct(items=items_of(language=STR, display_name=STR, confidence=FLOAT)),
        providers=words("amazon google microsoft modernmt oneai openai xai"),
    ),
    Subfeature(
        path="translation/document_translation",
        method="translate_document",
        summary="Each document translated into `target_language` (base64 content and a download URL).",
        input_field="file_url",
        input_kind="file",
        params=(SOURCE_LANGUAGE, TARGET_LANGUAGE, FILE_PASSWORD),
        output=struct(file=STR, document_resource_url=STR),
        media=Media(payload="file", url="document_resource_url", kind="document"),
        providers=words("deepl google"),
    ),
    # image
    Subfeature(
        path="image/object_detection",
        method="detect_objects",
        summary="The objects in each image, with their label, confidence and bounding box.",
        input_field="file_url",
        input_kind="file",
        output=struct(items=items_of(label=STR, confidence=FLOAT, **fields_of("x_min x_max y_min y_max", FLOAT))),
        providers=words("amazon api4ai clarifai google microsoft sentisight"),
    ),
    Subfeature(
        path="image/face_detection",
        method="detect_faces",
        summary="The faces in each image, with landmarks, emotions, pose, age, gender and other attributes.",
        input_field="file_url",
        input_kind="file",
        output=struct(items=list_of(FACE)),
        providers=words("amazon api4ai clarifai google microsoft"),
    ),
    Subfeature(
        path="image/logo_detection",
        method="detect_logos",
        summary="The logos in each image, with their name, score and bounding polygon.",
        input_field="file_url",
        input_kind="file",
        output=struct(
            items=items_of(
                bounding_poly=struct(vertices=items_of(x=FLOAT, y=FLOAT)),
                description=STR,
                score=FLOAT,
            )
        ),
        providers=words("anthropic api4ai clarifai google microsoft openai smartclick"),
    ),
    Subfeature(
        path="image/landmark_detection",
        method="detect_landmarks",
        summary="The landmarks in each image, with their name, confidence, bounding box and location.",
        input_field="file_url",
        input_kind="file",
        output=struct(
            items=items_of(
                description=STR,
                confidence=FLOAT,
                bounding_box=items_of(x=INT, y=INT),  # pixel vertices
                locations=items_of(lat_lng=struct(latitude=FLOAT, longitude=FLOAT)),
            )
        ),
        providers=words("google microsoft"),
    ),
    Subfeature(
        path="image/explicit_content",
        method="explicit_content",
        summary="The NSFW likelihood (0 to 5) and score of each image, with the flagged categories.",
        input_field="file_url",
        input_kind="file",
        output=NSFW_OUTPUT,
        providers=words("amazon api4ai clarifai google microsoft openai sentisight"),
    ),
    Subfeature(
        path="image/anonymization",
        method="anonymize_image",
        summary="Each image with faces and other personal data blurred, and the regions that were blurred.",
        input_field="file_url",
        input_kind="file",
        output=struct(
            image=STR,
            image_resource_url=STR,
            items=items_of(kind=STR, confidence=FLOAT, bounding_boxes=BOX),
        ),
        media=Media(payload="image", url="image_resource_url", kind="image"),
        providers=words("api4ai"),
    ),
    Subfeature(
        path="image/generation",
        method="generate_image",
        summary="The images generated from each prompt (base64 content and a download URL).",
        input_field="text",
        input_kind="text",
        params=(
            Param("resolution", STR, required=True, description="image size such as '1024x1024'"),
            Param("num_images", INT, default=1, minimum=1, maximum=10, description="number of images per prompt"),
        ),
        output=struct(items=items_of(image=STR, image_resource_url=STR)),
        media=Media(payload="image", url="image_resource_url", kind="image", within="items"),
        providers=words("amazon bytedance deepai google leonardo minimax openai replicate stabilityai"),
    ),
    # ocr
    Subfeature(
        path="ocr/ocr",
        method="ocr",
        summary="The text of each document or image, with the bounding box of every text block.",
        input_field="file_url",
        input_kind="file",
        params=(FILE_PASSWORD, LANGUAGE),
        output=struct(
            text=STR,
            bounding_boxes=items_of(text=STR, **fields_of("left top width height", FLOAT)),
        ),
        providers=words("amazon api4ai base64 clarifai google microsoft mistral sentisight"),
    ),
    Subfeature(
        path="ocr/invoice_parser",
        method="parse_invoice",
        summary="The fields of each invoice: parties, totals, taxes, dates, bank details and line items.",
        input_field="file_url",
        input_kind="file",
        params=(FILE_PASSWORD, LANGUAGE, CONVERT_TO_PDF),
        output=struct(extracted_data=list_of(INVOICE)),
        providers=words("affinda amazon base64 dataleon eagledoc eden-ai google klippa microsoft mindee rossum veryfi"),
        notes="Absent from Eden AI's 2026 schema; ocr/financial_parser with document_type='invoice' replaces it.",
    ),
    Subfeature(
        path="ocr/receipt_parser",
        method="parse_receipt",
        summary="The fields of each receipt: merchant, totals, taxes, payment and line items.",
        input_field="file_url",
        input_kind="file",
        params=(FILE_PASSWORD, LANGUAGE, CONVERT_TO_PDF),
        output=struct(extracted_data=list_of(RECEIPT)),
        providers=words(
            "affinda amazon base64 dataleon eagledoc eden-ai google klippa microsoft mindee tabscanner veryfi"
        ),
        notes="Absent from Eden AI's 2026 schema; ocr/financial_parser with document_type='receipt' replaces it.",
    ),
    Subfeature(
        path="ocr/resume_parser",
        method="parse_resume",
        summary="The fields of each resume: personal details, education, work experience, languages and skills.",
        input_field="file_url",
        input_kind="file",
        params=(FILE_PASSWORD, CONVERT_TO_PDF),
        output=struct(extracted_data=RESUME),
        providers=words("affinda extracta hireability klippa openai senseloaf"),
    ),
    Subfeature(
        path="ocr/identity_parser",
        method="parse_identity",
        summary="The fields of each identity document (names, dates, number, country, MRZ), each with a confidence.",
        input_field="file_url",
        input_kind="file",
        params=(FILE_PASSWORD, CONVERT_TO_PDF),
        output=struct(extracted_data=list_of(IDENTITY)),
        providers=words("affinda amazon base64 klippa microsoft mindee openai"),
    ),
    # audio
    Subfeature(
        path="audio/text_to_speech",
        method="text_to_speech",
        summary="Each text spoken aloud (base64 audio and a download URL).",
        input_field="text",
        input_kind="text",
        params=(
            Param(
                "language",
                STR,
                default="",
                nullable=True,
                description="language code of the voice ('en', 'fr')",
                format="language",
            ),
            Param("option", enum("FEMALE", "MALE", ""), default="", description="voice gender, '' for the default"),
            *(
                Param(name, INT, default=0, minimum=-100, maximum=100, nullable=True, description=what)
                for name, what in (
                    ("rate", "speaking rate change, in percent"),
                    ("pitch", "pitch change, in percent"),
                    ("volume", "volume change, in percent"),
                )
            ),
            Param("audio_format", STR, default="", nullable=True, description="audio container, '' for the default"),
            Param(
                "sampling_rate",
                INT,
                default=0,
                minimum=0,
                maximum=200000,
                nullable=True,
                description="sample rate in hertz, 0 for the provider's default",
            ),
        ),
        output=struct(audio=STR, voice_type=INT, audio_resource_url=STR),
        media=Media(payload="audio", url="audio_resource_url", kind="audio"),
        providers=words("amazon deepgram elevenlabs google lovoai microsoft openai"),
    ),
)
