/**
 * Ready-made tasks on the routing core, shared by the webhook flows and the n8n and Zapier
 * connectors: structured output (JSON schema, one repair call), extraction, classification and
 * summaries. No transport here: `runStructured` works over any chat backend.
 */
export { checkJsonAnswer, compileJsonSchema, describeSchemaErrors, jsonSchemaProblem, parseJsonAnswer } from './json';
export type { Check, JsonSchema } from './json';
export { mergeStories } from './story';
export { assertSpec, checkStructured, repairRequest, runStructured, withResponseFormat } from './structured';
export type { RepairOutcome, StructuredBackend, StructuredRun, StructuredRunOptions, StructuredSpec, StructuredTask } from './structured';
export { StructuredOutputError, completeStructured, completionText, promptMessages, switchyardBackend } from './complete';
export type { ChatParams, PromptInput, StructuredOptions, StructuredResult } from './complete';
export { FieldDefinitionSchema, FieldListSchema, FieldTypeSchema, ItemTypeSchema, MAX_FIELDS, describeFields, fieldsJsonSchema } from './fields';
export type { FieldDefinition, FieldDefinitionInput, FieldType } from './fields';
export { ExtractionInputSchema, extractData, extractionTask } from './extract';
export type { Extracted, ExtractOptions, ExtractionInput } from './extract';
export { ClassificationInputSchema, ClassificationSchema, LabelListSchema, LabelSchema, MAX_LABELS, classificationSchema, classificationTask, classifyText, matchLabel } from './classify';
export type { Classification, ClassificationInput, ClassifyOptions, Label, LabelInput } from './classify';
export { SUMMARY_LENGTHS, SUMMARY_STYLES, SummaryInputSchema, SummaryLengthSchema, SummaryStyleSchema, summarize, summaryRequest } from './summarize';
export type { SummarizeOptions, SummaryInput, SummaryLength, SummaryResult, SummaryStyle } from './summarize';
