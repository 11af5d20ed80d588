"""AWS Bedrock behind the OpenAI Files and Batch API.

Files are S3 objects (the file ID encodes `region/bucket/key`); batches are Bedrock model invocation
jobs (the batch ID encodes the job ARN); a batch's output and error files are the job's own S3
output folder, converted to OpenAI batch-output lines as they stream out. The gateway keeps no state.
"""

NAME = "bedrock"
