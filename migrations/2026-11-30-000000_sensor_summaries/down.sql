DROP TRIGGER sensor_summaries_add ON measurements;
DROP FUNCTION sensor_summaries_add();
DROP TABLE sensor_summaries;
