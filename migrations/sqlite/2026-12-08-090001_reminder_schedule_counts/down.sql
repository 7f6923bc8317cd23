DROP INDEX reminder_schedule_counts;
CREATE INDEX reminder_schedule_organisation
    ON reminder_schedule (organisation_id, due_on);
