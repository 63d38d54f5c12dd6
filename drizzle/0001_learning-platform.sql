CREATE TYPE "public"."lesson_video_status" AS ENUM('none', 'processing', 'ready', 'failed');--> statement-breakpoint
CREATE TYPE "public"."transcode_status" AS ENUM('queued', 'running', 'ready', 'failed');--> statement-breakpoint
CREATE TABLE "transcode_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"lesson_id" uuid NOT NULL,
	"status" "transcode_status" DEFAULT 'queued' NOT NULL,
	"source_path" text NOT NULL,
	"original_name" text DEFAULT '' NOT NULL,
	"size_bytes" bigint DEFAULT 0 NOT NULL,
	"duration_seconds" integer DEFAULT 0 NOT NULL,
	"progress_percent" integer DEFAULT 0 NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "lesson_progress" ADD COLUMN "duration_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "lesson_progress" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "lessons" ADD COLUMN "video_status" "lesson_video_status" DEFAULT 'none' NOT NULL;--> statement-breakpoint
ALTER TABLE "lessons" ADD COLUMN "video_path" text;--> statement-breakpoint
ALTER TABLE "lessons" ADD COLUMN "video_error" text;--> statement-breakpoint
ALTER TABLE "live_classes" ADD COLUMN "time_zone" text DEFAULT 'UTC' NOT NULL;--> statement-breakpoint
ALTER TABLE "live_classes" ADD COLUMN "duration_minutes" integer DEFAULT 60 NOT NULL;--> statement-breakpoint
ALTER TABLE "live_classes" ADD COLUMN "description" text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE "live_classes" ADD COLUMN "cancelled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "transcode_jobs" ADD CONSTRAINT "transcode_jobs_lesson_id_lessons_id_fk" FOREIGN KEY ("lesson_id") REFERENCES "public"."lessons"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "transcode_jobs_lesson_idx" ON "transcode_jobs" USING btree ("lesson_id");--> statement-breakpoint
CREATE INDEX "transcode_jobs_status_idx" ON "transcode_jobs" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "courses_search_idx" ON "courses" USING gin (to_tsvector('english', "title" || ' ' || "description"));