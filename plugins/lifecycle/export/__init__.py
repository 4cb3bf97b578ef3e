"""Export of the operational store to the warehouse's landing folder, where dbt reads it as a source."""
