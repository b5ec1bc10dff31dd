ALTER TABLE `key_usage` ADD `input_tokens` integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `key_usage` ADD `output_tokens` integer DEFAULT 0 NOT NULL;